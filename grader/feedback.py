"""Feedback: turn a verdict's code and facts into a sentence a student can act on.

Pure functions; English and Japanese. Facts arrive already enriched by the
pipeline (the call that was made, the student's source line, where a
missing name was imported from), so nothing here reads files.
"""

from __future__ import annotations

import re
from typing import Any

Lang = str  # "en" | "ja"

MESSAGES: dict[str, dict[Lang, str]] = {
    "ok": {"en": "passed", "ja": "合格"},
    "raised": {"en": "{call} raised {type}: {message}{where}",
               "ja": "{call} で {type} が発生しました: {message}{where}"},
    "no_output": {"en": "{call} produced no {output}", "ja": "{call} が {output} を返しませんでした"},
    "wrong_type": {"en": "{call}: {output} is a {got_type}, expected a numpy array or a number",
                   "ja": "{call}: {output} が {got_type} です。numpy 配列または数値が必要です"},
    "wrong_shape": {"en": "{call}: {output} has shape {got_shape}, expected {expected_shape}",
                    "ja": "{call}: {output} の形状が {got_shape} です（正しくは {expected_shape}）"},
    "mismatch": {"en": "{call}: {output} is wrong in {wrong} of {total} values; largest error {max_abs_error:.3g}"
                       " at index {index}{values} (tolerance rtol={rtol:g}, atol={atol:g})",
                 "ja": "{call}: {output} の {total} 個中 {wrong} 個の値が誤っています。最大誤差 {max_abs_error:.3g}"
                       "（インデックス {index}）{values}（許容誤差 rtol={rtol:g}, atol={atol:g}）"},
    "mismatch_scalar": {"en": "{call}: {output} is {got:.6g}, expected {expected:.6g} (error {max_abs_error:.3g};"
                              " tolerance rtol={rtol:g}, atol={atol:g})",
                        "ja": "{call}: {output} が {got:.6g} です（正しくは {expected:.6g}、誤差 {max_abs_error:.3g}、"
                              "許容誤差 rtol={rtol:g}, atol={atol:g}）"},
    "not_finite": {"en": "{call}: {output} contains inf or nan where a finite value is expected{values}",
                   "ja": "{call}: {output} に inf または nan が含まれています（有限の値が正しい）{values}"},
    "not_scalar": {"en": "{call} returned a {got_type} of shape {got_shape}; a single number is expected",
                   "ja": "{call} の戻り値が形状 {got_shape} の {got_type} です。スカラー（数値1つ）を返してください"},
    "loss_mismatch": {
        "en": "{call}: your network's loss does not match the reference's for the same parameters "
              "(the numerical gradient of {param} differs by {max_abs_error:.3g}), so backprop cannot be checked",
        "ja": "{call}: 同じパラメータでのネットワークの損失が参照実装と一致しません（{param} の数値微分の差 "
              "{max_abs_error:.3g}）。そのため誤差逆伝播の確認ができません"},
    "gradient_check_failed": {
        "en": "{call}: mean |backprop - numerical| for {param} is {diff:.3g}, above the threshold {threshold:g}",
        "ja": "{call}: {param} の |誤差逆伝播 - 数値微分| の平均が {diff:.3g} で、"
              "しきい値 {threshold:g} を超えています"},
    "not_backprop": {
        "en": "{call}: grads['{param}'] agrees with a numerical gradient of your loss, but differs from "
              "backpropagation through the same network by {error:.2g} (relative; backprop is exact to "
              "{rtol:g}): the gradient must be computed by backpropagation, not numerically",
        "ja": "{call}: grads['{param}'] は損失の数値微分とは一致しますが、同じネットワークの誤差逆伝播とは"
              "相対 {error:.2g} 異なります（誤差逆伝播なら {rtol:g} 以内で一致）。"
              "勾配は数値微分ではなく誤差逆伝播で求めてください"},
    "gradient_check_ok": {"en": "mean |backprop - numerical| for {param} = {diff:.2g}",
                          "ja": "{param} の |誤差逆伝播 - 数値微分| の平均 = {diff:.2g}"},
    "accuracy_low": {"en": "{call}: test accuracy {accuracy:.3f} is below the required {threshold:g}{training}",
                     "ja": "{call}: テスト精度 {accuracy:.3f} が基準 {threshold:g} に達していません{training}"},
    "off_trajectory": {
        "en": "{call}: after training from the grader's starting parameters, params['{param}'] is {distance:.3g} "
              "(relative) away from where backpropagation takes the reference network over the same batches "
              "(tolerance {tolerance:g}); accuracy counts only for parameters trained with your own gradient"
              " (test accuracy {accuracy:.3f}){training}",
        "ja": "{call}: 採点側の初期パラメータから学習した後の params['{param}'] が、"
              "同じバッチで誤差逆伝播により学習した参照ネットワークから"
              "相対 {distance:.3g} 離れています（許容 {tolerance:g}）。"
              "精度は自分の勾配で学習したパラメータに対してのみ認められます"
              "（テスト精度 {accuracy:.3f}）{training}"},
    "training_loss_flat": {"en": "; during training the loss went from {loss_first:.4g} to {loss_last:.4g}"
                                 " (not decreasing)",
                           "ja": "。学習中の損失は {loss_first:.4g} から {loss_last:.4g} で、減少していません"},
    "training_still": {"en": "; the parameters did not change in {still_steps} of {steps} steps",
                       "ja": "。{steps} ステップ中 {still_steps} ステップでパラメータが変化しませんでした"},
    "training_growing": {"en": "; the gradients grew during training (norm {grad_first:.3g} at the start, "
                               "{grad_last:.3g} at the end): does a layer accumulate dW/db across calls?",
                         "ja": "。学習中に勾配が大きくなりました（ノルムが最初 {grad_first:.3g}、"
                               "最後 {grad_last:.3g}）。レイヤの dW/db が呼び出しごとに累積していませんか"},
    "accuracy_ok": {"en": "test accuracy {accuracy:.3f} (required {threshold:g})",
                    "ja": "テスト精度 {accuracy:.3f}（基準 {threshold:g}）"},
    "unit_timeout": {"en": "{call} did not finish within {seconds:g} s",
                     "ja": "{call} が {seconds:g} 秒以内に終わりませんでした"},
    "unit_crashed": {"en": "the process running {call} ended (exit code {exit_code}) before it returned, "
                           "e.g. through sys.exit, os._exit or a resource limit",
                     "ja": "{call} の実行中にプロセスが終了しました（終了コード {exit_code}）。"
                           "sys.exit や os._exit、資源制限などが原因です"},
    "lost": {"en": "the grading process stopped while running {call} ({reason})",
             "ja": "{call} の実行中に採点用プロセスが停止しました（{reason}）"},
    "submission_timeout": {"en": "not run: the submission used up its total time limit of {seconds:g} s",
                           "ja": "未実行：提出物全体の制限時間 {seconds:g} 秒を使い切りました"},
    "not_defined": {"en": "{names} is not defined in your notebook{why}",
                    "ja": "{names} がノートブック内で定義されていません{why}"},
    "why_imported": {"en": ": it was imported from `{module}`, which the grader does not provide. "
                           "Define it in your notebook",
                     "ja": "。`{module}` からインポートされていますが、採点環境にはこのモジュールがありません。"
                           "ノートブック内で定義してください"},
    "why_star": {"en": "; it may come from `from {module} import *`, which the grader does not provide",
                 "ja": "。`from {module} import *` から来ている可能性がありますが、"
                       "採点環境にはこのモジュールがありません"},
    "why_unparsed": {"en": ": {cell} has a syntax error ({detail})",
                     "ja": "。{cell} に構文エラーがあります（{detail}）"},
    "why_not_run": {"en": ": it is only assigned by top-level code in {cell}, line {line}, which the grader "
                          "does not run (only definitions are graded)",
                    "ja": "。{cell} {line} 行目のトップレベルのコードでのみ代入されていますが、"
                          "採点では定義以外は実行しません"},
    "why_failed": {"en": ": its definition in {cell} failed ({detail})",
                   "ja": "。{cell} の定義でエラーが発生しました（{detail}）"},
    "cause_backward_before_forward": {
        "en": "backward ran on a layer object whose forward never ran (what forward stores is still None): "
              "call forward on the same object first, e.g. the network's loss(x, t) before lastLayer.backward",
        "ja": "forward を一度も実行していないレイヤのオブジェクトで backward を呼んでいます（forward で保存する値が"
              " None のまま）。先に同じオブジェクトで forward（例えば loss(x, t)）を実行してから lastLayer.backward を"
              "呼んでください"},
    "cause_in_unit_itself": {
        "en": "the same check fails with the reference {names} swapped in, so the mistake is in {unit} itself "
              "(how it uses them, e.g. the order of its calls or of their arguments), not in them",
        "ja": "参照実装の {names} に差し替えても同じチェックが失敗するため、誤りは {unit} 自体にあります"
              "（それらの使い方、例えば呼び出しや引数の順番など）"},
    "variant": {"en": " [with the reference {names}]", "ja": "［参照実装の {names} を使用］"},
    "where": {"en": " ({cell}, line {line}: `{text}`)", "ja": "（{cell} {line} 行目: `{text}`）"},
    "scalar_values": {"en": "; got {got:.6g}, expected {expected:.6g}", "ja": "。結果 {got:.6g}、正解 {expected:.6g}"},
    # notes about the program as a whole
    "statement_error": {"en": "{cell}, line {line}: {type}: {message}",
                        "ja": "{cell} {line} 行目: {type}: {message}"},
    "statement_timeout": {"en": "{cell}, line {line}: did not finish within {seconds:g} s and was skipped",
                          "ja": "{cell} {line} 行目: {seconds:g} 秒以内に終わらなかったため、スキップしました"},
    "statement_crashed": {"en": "{cell}, line {line}: ended the process and was skipped",
                          "ja": "{cell} {line} 行目: プロセスを終了させたため、スキップしました"},
    "ran_setup": {"en": "{cell}, line {line}: run (cheap set-up that your definitions use): {detail}",
                  "ja": "{cell} {line} 行目: 定義が使う軽い準備のコードとして実行しました: {detail}"},
    "skipped_code": {"en": "{cell}, line {line}: not run (only definitions are graded): {detail}",
                     "ja": "{cell} {line} 行目: 実行していません（採点対象は定義のみ）: {detail}"},
    "skipped_magic_cell": {"en": "{cell}: not run (IPython cell magic {detail})",
                           "ja": "{cell}: 実行していません（IPython セルマジック {detail}）"},
    "skipped_syntax_error": {"en": "{cell}, line {line}: syntax error, not run ({detail})",
                             "ja": "{cell} {line} 行目: 構文エラーのため実行していません（{detail}）"},
    # whole-submission errors
    "too_large": {"en": "the notebook is larger than the {limit_mb} MB limit",
                  "ja": "ノートブックが上限 {limit_mb} MB を超えています"},
    "not_utf8": {"en": "the file is not UTF-8 text (invalid byte at position {position})",
                 "ja": "ファイルが UTF-8 テキストではありません（位置 {position} に不正なバイト）"},
    "not_json": {"en": "the file is not JSON, so not a notebook ({detail})",
                 "ja": "ファイルが JSON ではないため、ノートブックとして読めません（{detail}）"},
    "not_notebook": {"en": "the file is JSON but not a valid Jupyter notebook ({detail})",
                     "ja": "JSON ですが、有効な Jupyter ノートブックではありません（{detail}）"},
    "sandbox_failed": {"en": "the grader could not run this submission: {detail}",
                       "ja": "この提出物を採点できませんでした: {detail}"},
}


OUTPUT_LABELS: dict[str, dict[Lang, str]] = {
    "out": {"en": "the result", "ja": "結果"},
    "layer:out": {"en": "forward's result", "ja": "forward の結果"},
    "dx": {"en": "backward's dx", "ja": "backward の dx"},
    "grad": {"en": "the gradient", "ja": "勾配"},
    "x_after": {"en": "x after the call (it must be restored)", "ja": "呼び出し後の x（元に戻す必要があります）"},
    "second_call": {"en": "{label} on the second call", "ja": "2回目の呼び出しでの{label}"},
}


def output_label(name: str, kind: str, lang: Lang) -> str:
    """A probe output as the student knows it: `grad_W1` is grads['W1'], `param_b2` is params['b2'],
    `dx_2` is backward's dx on the second call."""
    if name.endswith("_2"):
        return OUTPUT_LABELS["second_call"][lang].format(label=output_label(name[:-2], kind, lang))
    for key in (f"{kind}:{name}", name):
        if key in OUTPUT_LABELS:
            return OUTPUT_LABELS[key][lang]
    for prefix, owner in (("grad_", "grads"), ("param_", "params")):
        if name.startswith(prefix):
            return f"{owner}['{name[len(prefix):]}']"
    return name


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def render(code: str, facts: dict[str, Any], lang: Lang) -> str:
    """One message; unknown codes fall back to the code itself, missing facts to '?'."""
    template = MESSAGES.get(code, {}).get(lang) or MESSAGES.get(code, {}).get("en") or code
    try:
        return template.format_map(_Facts(facts))
    except (ValueError, TypeError):  # a fact of an unexpected type for its format spec
        return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", template).format_map(_Facts(facts))


def check_message(code: str, facts: dict[str, Any], lang: Lang) -> str:
    """The message for one check, with the parts that depend on optional facts filled in."""
    facts = dict(facts)
    if code == "ok" and "diff" in facts:
        code = "gradient_check_ok"
    elif code == "ok" and "accuracy" in facts:
        code = "accuracy_ok"
    frames = facts.get("where")
    facts["where"] = render("where", frames, lang) if isinstance(frames, dict) else ""
    facts["values"] = render("scalar_values", facts, lang) if "got" in facts and "expected" in facts else ""
    if code in {"off_trajectory", "accuracy_low"}:
        facts["training"] = training_story(facts.get("training") or {}, lang)
    if code == "not_defined":
        facts["why"] = "".join(render(w["code"], w, lang) for w in facts.get("why", []))
    hint = facts.get("hint")
    text = render(code, facts, lang)
    if facts.get("cause") in MESSAGES:
        text += " — " + render(facts["cause"], facts, lang)
    if isinstance(hint, dict):
        text += " — " + render("not_defined", {**hint, "why": render(hint["why"]["code"], hint["why"], lang)}, lang)
    if facts.get("variant_names"):
        text += render("variant", {"names": facts["variant_names"]}, lang)
    return text


def training_story(seen: dict[str, Any], lang: Lang) -> str:
    """What the grader saw while training, where it points at a cause: a loss that does not go
    down, parameters that do not move, gradients that grow."""
    parts = []
    if "loss_first" in seen and not seen["loss_last"] < 0.9 * seen["loss_first"]:
        parts.append(render("training_loss_flat", seen, lang))
    if seen.get("still_steps"):
        parts.append(render("training_still", seen, lang))
    if "grad_first" in seen and seen["grad_last"] > 10 * seen["grad_first"]:
        parts.append(render("training_growing", seen, lang))
    return "".join(parts)


def describe_call(kind: str, params: dict[str, Any], shapes: dict[str, tuple[int, ...] | None]) -> str:
    """What the grader called, with input shapes, e.g. `Affine(W (4, 3), b (3,)).forward(x (3, 1, 2, 2))`."""
    def args(names: list) -> str:
        return ", ".join(f"{n} {shapes.get(n)}" if isinstance(n, str) else repr(n) for n in names)

    target = params.get("target") or "?"
    if kind == "call":
        return f"{target}({args(params.get('args', []))})"
    if kind == "numerical_grad":
        f = "lambda W: f(x)" if params.get("closure") else "f"
        return f"{target}({f}, x {shapes.get('x')})"
    if kind == "layer":
        return (f"{target}({args(params.get('init', []))}).forward({args(params.get('forward', []))})"
                f" / .backward({args(params.get('backward', []))})")
    sizes = tuple(params.get("sizes", ()))
    if kind == "train":
        steps, batch = shapes.get("batches") or ("?", "?")
        return f"SGD training of TwoLayerNet{sizes}: {steps} steps, batch {batch}, lr {params.get('learning_rate')}"
    return f"TwoLayerNet{sizes}.gradient(x {shapes.get('x')}, t {shapes.get('t')})"
