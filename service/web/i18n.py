"""Page language: the message catalogue of the web pages and the choice of language per request.

Keyed by message, then language, like grader/feedback.py: a language is added by adding its
column to every entry (ja and en are complete; LANGUAGES lists what the switch offers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grader import languages

LANGUAGES: dict[str, str] = {"ja": "日本語", "en": "English"}   # code -> name shown in the switch
DEFAULT = "en"
COOKIE = "lang"

MESSAGES: dict[str, dict[str, str]] = {
    "app_name": {"en": "nn-grader", "ja": "nn-grader"},
    "skip_to_content": {"en": "Skip to content", "ja": "本文へ移動"},
    "language": {"en": "Language", "ja": "言語"},
    "change_language": {"en": "Change", "ja": "変更"},
    "sign_in": {"en": "Sign in", "ja": "サインイン"},
    "sign_out": {"en": "Sign out", "ja": "サインアウト"},
    "token": {"en": "Your personal token", "ja": "個人トークン"},
    "token_help": {"en": "The token you received from your instructor (students) or the instructor token.",
                   "ja": "教員から受け取ったトークン（学生）、または教員用トークンを入力してください。"},
    "bad_token": {"en": "This token is not valid.", "ja": "このトークンは無効です。"},
    "bad_csrf": {"en": "The form expired or did not come from this site. Reload the page and try again.",
                 "ja": "フォームの有効期限が切れたか、このサイトから送信されたものではありません。"
                       "ページを再読み込みしてもう一度お試しください。"},
    "not_found": {"en": "Not found.", "ja": "見つかりません。"},
    "signed_in_as": {"en": "Signed in as {name}", "ja": "{name} としてサインイン中"},
    "instructor": {"en": "Instructor", "ja": "教員"},
    # student pages
    "assignments": {"en": "Assignments", "ja": "課題"},
    "assignment": {"en": "Assignment", "ja": "課題"},
    "best_score": {"en": "Best", "ja": "最高点"},
    "latest_score": {"en": "Latest", "ja": "最新"},
    "no_submission": {"en": "not submitted", "ja": "未提出"},
    "open": {"en": "Open", "ja": "開く"},
    "upload": {"en": "Submit a notebook", "ja": "ノートブックを提出"},
    "choose_file": {"en": "Notebook file (.ipynb)", "ja": "ノートブックファイル（.ipynb）"},
    "drop_here": {"en": "…or drop the .ipynb file here", "ja": "…または .ipynb ファイルをここにドロップ"},
    "submit": {"en": "Submit", "ja": "提出"},
    "status": {"en": "Status", "ja": "状態"},
    "status_received": {"en": "Received", "ja": "受付済み"},
    "status_queued": {"en": "Queued", "ja": "待機中"},
    "status_running": {"en": "Grading", "ja": "採点中"},
    "status_done": {"en": "Done", "ja": "完了"},
    "status_failed": {"en": "The grader failed; it will be looked at", "ja": "採点システムの障害です（確認します）"},
    "queue_position": {"en": "position {position} in the queue, about {eta} s to wait",
                       "ja": "待ち順 {position} 番目、約 {eta} 秒"},
    "uploading": {"en": "Uploading…", "ja": "アップロード中…"},
    "see_result": {"en": "See the result", "ja": "結果を見る"},
    "history": {"en": "Your attempts (newest first)", "ja": "提出履歴（新しい順）"},
    "no_history": {"en": "No attempts yet.", "ja": "まだ提出していません。"},
    "submitted_at": {"en": "Submitted", "ja": "提出日時"},
    "score": {"en": "Score", "ja": "得点"},
    "result": {"en": "Result", "ja": "結果"},
    "total": {"en": "Total", "ja": "合計"},
    "unit": {"en": "Part", "ja": "項目"},
    "checks_failed": {"en": "What failed", "ja": "不合格の項目"},
    "all_passed": {"en": "All checks passed.", "ja": "すべてのチェックに合格しました。"},
    "diagnosis": {"en": "Likely cause", "ja": "考えられる原因"},
    "where_in_notebook": {"en": "{cell}, line {line}", "ja": "{cell} {line} 行目"},
    "skipped_while_loading": {"en": "Skipped while loading your notebook", "ja": "読み込み時にスキップされたもの"},
    "grading_error": {"en": "Your notebook could not be graded", "ja": "ノートブックを採点できませんでした"},
    "manual_part": {"en": "Written part (graded by hand)", "ja": "記述部分（手動採点）"},
    "comment": {"en": "Comment", "ja": "コメント"},
    "plots": {"en": "Pictures", "ja": "図"},
    # upload errors
    "err_file_type": {"en": "Only .ipynb notebook files can be submitted.",
                      "ja": "提出できるのは .ipynb のノートブックファイルだけです。"},
    "err_too_large": {"en": "The file is larger than the {limit_mb} MB limit.",
                      "ja": "ファイルが上限 {limit_mb} MB を超えています。"},
    "err_no_file": {"en": "Choose a notebook file first.", "ja": "先にノートブックファイルを選んでください。"},
    "err_rate": {"en": "Too many submissions; try again in {seconds} s.",
                 "ja": "提出が多すぎます。{seconds} 秒後にもう一度お試しください。"},
    "err_upload": {"en": "The upload failed: {detail}", "ja": "アップロードに失敗しました: {detail}"},
    "nothing_lost": {"en": "Nothing was submitted; your earlier attempts are unchanged.",
                     "ja": "何も提出されていません。これまでの提出はそのままです。"},
    # plots
    "plot_gradient_title": {"en": "Gradient check: relative error of backprop vs numerical gradient",
                            "ja": "勾配確認：誤差逆伝播と数値微分の相対誤差"},
    "plot_gradient_threshold": {"en": "threshold {threshold:g}", "ja": "しきい値 {threshold:g}"},
    "plot_gradient_alt": {"en": "{param}: {error:.2g} ({verdict})", "ja": "{param}: {error:.2g}（{verdict}）"},
    "plot_gradient_missing": {"en": "{param}: not measured", "ja": "{param}: 測定できませんでした"},
    "below_threshold": {"en": "below the threshold", "ja": "しきい値未満"},
    "above_threshold": {"en": "above the threshold", "ja": "しきい値超過"},
    "plot_training_title": {"en": "Training on the same batches: your network and the reference",
                            "ja": "同じバッチでの学習：あなたのネットワークと参照実装"},
    "plot_step": {"en": "step", "ja": "ステップ"},
    "plot_loss": {"en": "loss", "ja": "損失"},
    "plot_accuracy": {"en": "batch accuracy", "ja": "バッチ精度"},
    "plot_yours": {"en": "yours", "ja": "あなた"},
    "plot_reference": {"en": "reference", "ja": "参照実装"},
    "plot_training_alt": {
        "en": "Loss from {s_first} to {s_last} (reference {r_first} to {r_last}); batch accuracy at the end "
              "{s_acc} (reference {r_acc}), over {steps} steps.",
        "ja": "損失 {s_first} → {s_last}（参照実装 {r_first} → {r_last}）、最後のバッチ精度 {s_acc}"
              "（参照実装 {r_acc}）、{steps} ステップ。"},
    # instructor pages
    "gradebook": {"en": "Gradebook", "ja": "成績一覧"},
    "student": {"en": "Student", "ja": "学生"},
    "class_mean": {"en": "Class mean", "ja": "クラス平均"},
    "sort_hint": {"en": "Column headers sort the table.", "ja": "列見出しで並べ替えできます。"},
    "histogram": {"en": "Distribution of totals", "ja": "合計点の分布"},
    "histogram_alt": {"en": "{count} students scored {low:g}–{high:g}", "ja": "{low:g}〜{high:g} 点: {count} 人"},
    "students_count": {"en": "students", "ja": "人"},
    "common_failures": {"en": "Most common failures", "ja": "よくある不合格"},
    "n_students": {"en": "{count} students", "ja": "{count} 人"},
    "n_students_one": {"en": "1 student", "ja": "1 人"},
    "download_csv": {"en": "Download the gradebook (CSV)", "ja": "成績一覧をダウンロード（CSV）"},
    "regrade": {"en": "Regrade", "ja": "再採点"},
    "regrade_all": {"en": "Regrade all latest submissions", "ja": "最新の提出をすべて再採点"},
    "regrade_queued": {"en": "{count} submission(s) queued for regrading.", "ja": "{count} 件を再採点待ちにしました。"},
    "roster": {"en": "Roster", "ja": "名簿"},
    "import_roster": {"en": "Import the roster (CSV: id,name,email)", "ja": "名簿の取り込み（CSV: id,name,email）"},
    "import": {"en": "Import", "ja": "取り込む"},
    "tokens_once": {"en": "New tokens (shown only once):", "ja": "新しいトークン（一度だけ表示）："},
    "in_progress": {"en": "Submissions in progress", "ja": "採点中・待機中の提出"},
    "workers": {"en": "Workers alive", "ja": "稼働中のワーカー"},
    "grader_failures": {"en": "Failures of the grader", "ja": "採点システムの障害"},
    "none": {"en": "None.", "ja": "ありません。"},
    "notebook": {"en": "Submitted notebook", "ja": "提出されたノートブック"},
    "report": {"en": "Report", "ja": "採点結果"},
    "manual_grading": {"en": "Manual grading", "ja": "手動採点"},
    "manual_score": {"en": "Manual score", "ja": "手動採点の得点"},
    "save": {"en": "Save", "ja": "保存"},
    "saved": {"en": "Saved.", "ja": "保存しました。"},
    "written_cells": {"en": "Written answers", "ja": "記述の回答"},
    "no_written_cells": {"en": "No written answers found.", "ja": "記述の回答は見つかりませんでした。"},
    "auto_score": {"en": "Automatic", "ja": "自動採点"},
    "overview": {"en": "Overview", "ja": "概要"},
    "failed_cell": {"en": "a check failed here", "ja": "ここでチェックが失敗"},
    "output_truncated": {"en": "[output truncated]", "ja": "[出力を省略]"},
    "submission": {"en": "Submission", "ja": "提出"},
    "worker": {"en": "Worker", "ja": "ワーカー"},
    "last_seen": {"en": "Last seen", "ja": "最終確認"},
    "error": {"en": "Error", "ja": "エラー"},
}


def negotiate(accept_language: str | None, cookie: str | None) -> str:
    """The page language: the switch's cookie if set, else the browser's first language we speak."""
    if cookie in LANGUAGES:
        return cookie
    chosen = languages.from_accept_language(accept_language, DEFAULT)
    return chosen if chosen in LANGUAGES else DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **facts)` for one language; a key missing in a language falls back to English."""
    def t(key: str, **facts: Any) -> str:
        entry = MESSAGES[key]
        text = entry.get(lang) or entry[DEFAULT]
        return text.format(**facts) if facts else text
    return t
