"""What each diagnosis tells the student: the mistake, as a hint, never the fix in full."""

from __future__ import annotations

DIAGNOSES: dict[str, dict[str, str]] = {
    "log_without_delta": {
        "en": "the log has no small constant added (the book writes np.log(y + 1e-7)): a zero probability gives inf",
        "ja": "log に微小な値が加えられていません（本では np.log(y + 1e-7)）。確率が 0 のとき inf になります"},
    "cee_no_batch_mean": {
        "en": "the loss is summed over the batch but not divided by the batch size",
        "ja": "損失をバッチ全体で合計していますが、バッチサイズで割っていません"},
    "cee_one_hot_labels_only": {
        "en": "only one-hot labels are handled: index labels (t = [2, 7, ...]) need their own case",
        "ja": "one-hot 表現のラベルにしか対応していません。"
              "インデックス表現のラベル（t = [2, 7, ...]）も扱ってください"},
    "cee_index_labels_only": {
        "en": "only index labels are handled: one-hot labels must be turned into indices first (argmax)",
        "ja": "インデックス表現のラベルにしか対応していません。one-hot "
              "表現は先に argmax でインデックスに変換してください"},
    "numerical_forward_difference": {
        "en": "this is a forward difference (f(x+h) - f(x)) / h, whose error is of order h; use the central "
              "difference (f(x+h) - f(x-h)) / 2h",
        "ja": "前方差分 (f(x+h) - f(x)) / h になっており、誤差が h "
              "程度残ります。中心差分 (f(x+h) - f(x-h)) / 2h を使ってください"},
    "numerical_x_not_restored": {
        "en": "x[idx] is not set back to its original value after the two evaluations, so later elements are "
              "computed at a shifted point",
        "ja": "2 回の評価のあと x[idx] を元の値に戻していないため、後の要素がずれた点で計算されています"},
    "return_inside_loop": {
        "en": "`return` is inside the loop body, so the function returns after the first element",
        "ja": "`return` がループの中にあるため、最初の要素だけ計算して返しています"},
    "softmax_no_max_subtraction": {
        "en": "softmax does not subtract the maximum before exp, so large inputs overflow",
        "ja": "softmax で exp の前に最大値を引いていないため、大きな入力でオーバーフローします"},
    "softmax_global_max": {
        "en": "softmax subtracts one maximum of the whole batch instead of each row's own maximum",
        "ja": "softmax で各行の最大値ではなく、バッチ全体の最大値を 1 つだけ引いています"},
    "softmax_backward_no_batch_division": {
        "en": "SoftmaxWithLoss.backward is not divided by the batch size (the result is exactly N times too large)",
        "ja": "SoftmaxWithLoss.backward がバッチサイズで割られていません（結果がちょうど N 倍になっています）"},
    "relu_mask_inverted": {
        "en": "Relu.backward zeroes the gradient where x > 0 instead of where x <= 0 (the mask is inverted)",
        "ja": "Relu.backward が x <= 0 ではなく x > 0 の位置の勾配を 0 にしています（マスクが逆です）"},
    "relu_mask_not_applied": {
        "en": "Relu.backward passes dout through unchanged: the mask from forward is never applied",
        "ja": "Relu.backward が dout をそのまま返しています。forward で作ったマスクが使われていません"},
    "relu_mask_not_stored": {
        "en": "Relu.forward does not store its mask in self.mask, so backward cannot use it",
        "ja": "Relu.forward がマスクを self.mask に保存していないため、backward で使えません"},
    "relu_forward_overwrites_input": {
        "en": "Relu.forward writes zeros into its input x instead of into a copy",
        "ja": "Relu.forward がコピーではなく入力 x そのものに 0 を書き込んでいます"},
    "affine_db_wrong_axis": {
        "en": "db is summed over the wrong axis: sum over the batch (axis=0)",
        "ja": "db の和を取る軸が違います。バッチ方向（axis=0）に和を取ってください"},
    "affine_dW_transposed": {
        "en": "dW is transposed: it must have the shape of W",
        "ja": "dW が転置になっています。W と同じ形状になるはずです"},
    "affine_dx_not_reshaped": {
        "en": "Affine.backward does not give dx back the shape of the original input x",
        "ja": "Affine.backward が dx を元の入力 x の形状に戻していません"},
    "params_and_layers_differ": {
        "en": "the layers hold copies of W and b, not the arrays in params: updating params does not reach the layers",
        "ja": "レイヤが params の配列そのものではなく W と b "
              "のコピーを持っています。params を更新してもレイヤに反映されません"},
    "backward_in_forward_order": {
        "en": "the layers are backpropagated in forward order; backward must visit them in reverse",
        "ja": "逆伝播をレイヤの順伝播と同じ順序で行っています。逆順にたどる必要があります"},
    "layers_wrong_order": {
        "en": "the layers are wired in the wrong order (Affine1 → Relu1 → Affine2 is expected)",
        "ja": "レイヤの並び順が違います（Affine1 → Relu1 → Affine2 の順のはずです）"},
    "relu_layer_missing": {
        "en": "the Relu layer between the two Affine layers is missing",
        "ja": "2 つの Affine レイヤの間の Relu レイヤがありません"},
    "comparison_as_statement": {
        "en": "`==` compares and throws the result away; `=` assigns",
        "ja": "`==` は比較するだけで結果が捨てられます。代入は `=` です"},
    "numpy_name_misspelt": {
        "en": "numpy has no `{name}`: did you mean `{suggestion}`?",
        "ja": "numpy に `{name}` はありません。`{suggestion}` のことでは？"},
    "batch_size_wrong_expression": {
        "en": "the batch size is not taken from a shape (e.g. y.shape[0])",
        "ja": "バッチサイズが形状（例えば y.shape[0]）から取られていません"},
    "self_outside_method": {
        "en": "`self` is used in {function}(), which is not a method: use its own parameters",
        "ja": "メソッドではない {function}() の中で `self` を使っています。関数の引数を使ってください"},
    "fresh_layer_without_forward": {
        "en": "`{name} = {cls}()` creates a new layer that never ran forward, so its backward has nothing to use",
        "ja": "`{name} = {cls}()` で forward "
              "を一度も通っていない新しいレイヤを作っているため、backward に使える値がありません"},
    "result_dict_rebuilt_in_loop": {
        "en": "the result dict is created inside the loop, so it is rebuilt on every pass",
        "ja": "結果の辞書をループの中で作っているため、毎回作り直されています"},
    "off_by_factor": {
        "en": "every value is off by exactly a factor of {factor} ({direction}): a division by the batch size "
              "may be missing or doubled",
        "ja": "すべての値が正解とちょうど {factor} 倍ずれています（{direction}）。"
              "バッチサイズでの割り算が抜けているか、二重になっている可能性があります"},
    "transposed": {"en": "the values are right but transposed", "ja": "値は正しいのですが、転置になっています"},
    "imported_not_defined": {
        "en": "it comes from an import (`{module}`) instead of being defined in the notebook",
        "ja": "ノートブック内で定義せず、インポート（`{module}`）に頼っています"},
}

DIRECTIONS = {"times": {"en": "too large", "ja": "大きすぎ"}, "divided": {"en": "too small", "ja": "小さすぎ"}}
WHERE = {"en": " ({cell}, line {line}: `{text}`)", "ja": "（{cell} {line} 行目: `{text}`）"}
