"""Words of the user interface in the policy's languages (Korean first, English).

Texts of the policy itself come from the policy file; these are the labels and
connecting phrases around them.
"""

from __future__ import annotations

import re

from ..periods import Period

__all__ = ["basis_label", "josa", "kind_label", "period_label", "ui"]

_UI: dict[str, dict[str, str]] = {
    "policy_title": {"ko": "개인정보 처리방침", "en": "Privacy Policy"},
    "s1": {"ko": "수집하는 개인정보", "en": "Personal information collected"},
    "s2": {"ko": "수집한 개인정보의 이용", "en": "Use of collected personal information"},
    "s3": {
        "ko": "개인정보처리의 위탁 및 개인정보의 제3자 제공",
        "en": "Outsourcing of processing and provision to third parties",
    },
    "s4": {"ko": "개인정보 보유 및 이용기간", "en": "Retention and use period"},
    "s5": {"ko": "개인정보의 파기 절차 및 방법", "en": "Destruction procedure and method"},
    "s6": {"ko": "이용자의 권리와 그 행사방법", "en": "Users' rights and how to exercise them"},
    "s7": {"ko": "개인정보 보호책임자 안내", "en": "Privacy officer"},
    "s8": {"ko": "쿠키의 설치·운영 및 거부", "en": "Cookies: installation, operation and refusal"},
    "item": {"ko": "항목", "en": "Item"},
    "when": {"ko": "수집 시점", "en": "Collected"},
    "required": {"ko": "필수", "en": "required"},
    "optional": {"ko": "선택", "en": "optional"},
    "purposes": {"ko": "이용 목적", "en": "Purposes"},
    "retention": {"ko": "보유기간", "en": "Retention"},
    "collection.signup": {"ko": "회원가입 시", "en": "at sign-up"},
    "collection.usage": {"ko": "서비스 이용 과정에서 생성", "en": "generated while the service is used"},
    "collection.payment": {
        "ko": "유료 서비스 결제 시 (결제대행사에 직접 제공, 회사는 보관하지 않음)",
        "en": "at payment (given to the payment agent; the Company does not keep it)",
    },
    "basis": {"ko": "법적 근거", "en": "Legal basis"},
    "needs_consent": {
        "ko": "선택 동의 (동의한 경우에만 처리)",
        "en": "optional consent (processed only once granted)",
    },
    "gpc": {
        "ko": "Global Privacy Control(Sec-GPC) 신호를 보내는 브라우저는 이 목적을 거부한 것으로 봅니다.",
        "en": "A browser sending the Global Privacy Control signal (Sec-GPC) is treated as refusing this purpose.",
    },
    "items_used": {"ko": "처리 항목", "en": "Items processed"},
    "recipient": {"ko": "받는 자", "en": "Recipient"},
    "task": {"ko": "업무 내용", "en": "Task"},
    "kind": {"ko": "구분", "en": "Kind"},
    "items": {"ko": "제공 항목", "en": "Items"},
    "record": {"ko": "기록", "en": "Record"},
    "statute": {"ko": "보존근거", "en": "Legal basis"},
    "period": {"ko": "보존기간", "en": "Period"},
    "procedure": {"ko": "파기절차", "en": "Procedure"},
    "method": {"ko": "파기방법", "en": "Method"},
    "name": {"ko": "이름", "en": "Name"},
    "email": {"ko": "이메일", "en": "Email"},
    "phone": {"ko": "전화", "en": "Phone"},
    "version": {"ko": "버전", "en": "Version"},
    "effective": {"ko": "시행일", "en": "Effective from"},
    "language": {"ko": "English", "en": "한국어"},
    "manage_consent": {"ko": "동의 관리 페이지", "en": "consent page"},
    "withdraw_title": {"ko": "동의철회(회원탈퇴) 확인", "en": "Confirm your withdrawal"},
    "withdraw_explain": {
        "ko": "확인을 누르면 개인정보 수집·이용 동의를 철회하고 회원에서 탈퇴하며, 개인정보는 지체 없이 파기됩니다. "
        "다만 관계법령에 따라 보존해야 하는 아래 기록은 별도의 DB에 분리 보관한 후 기간이 지나면 파기합니다.",
        "en": "Confirming withdraws your consent and ends your membership; your personal information is destroyed "
        "without delay, except the records below, which the law makes us keep apart in a separate database until "
        "their period ends.",
    },
    "withdraw_confirm": {"ko": "동의철회 및 회원탈퇴", "en": "Withdraw and leave"},
    "request_title": {"ko": "요청 처리 현황", "en": "Your request"},
    "kind.withdraw": {"ko": "동의철회", "en": "consent withdrawal"},
    "kind.stop": {"ko": "처리정지", "en": "processing stop"},
    "kind.access": {"ko": "열람", "en": "access"},
    "kind.delete": {"ko": "삭제", "en": "deletion"},
    "kind.correct": {"ko": "정정", "en": "correction"},
    # The member's own page (/rights): correction, deletion of items, suspension (PIPA §36, §37, §38④).
    "rights_title": {"ko": "내 개인정보 관리", "en": "Your personal information"},
    "rights_intro": {
        "ko": "아래에서 개인정보를 바로 정정하거나, 회원을 유지한 채 선택 항목을 삭제하거나, 처리 목적별로 처리정지를 "
        "요구할 수 있습니다.",
        "en": "Here you can correct your personal information at once, delete optional items while staying a member, "
        "or ask us to stop processing for named purposes.",
    },
    "correct_title": {"ko": "개인정보 정정", "en": "Correct your information"},
    "correct_hint": {
        "ko": "바꿀 항목에만 새 값을 입력하세요. 정정은 즉시 반영되며 결과를 이메일로 알려드립니다.",
        "en": "Enter a new value only for what you want to change. It is corrected at once and you are told by email.",
    },
    "correct_submit": {"ko": "정정하기", "en": "Correct"},
    "delete_items_title": {"ko": "선택 항목 삭제 (회원 유지)", "en": "Delete optional items (stay a member)"},
    "delete_items_hint": {
        "ko": "필수 항목(이름·이메일 등)을 삭제하려면 회원탈퇴(동의철회)를 해야 합니다.",
        "en": "Deleting a required item (name, email, ...) means leaving the membership (a withdrawal).",
    },
    "delete_items_none": {
        "ko": "회원을 유지한 채 삭제할 수 있는 선택 항목이 없습니다.",
        "en": "No optional items can be deleted on their own.",
    },
    "delete_items_submit": {"ko": "선택 항목 삭제", "en": "Delete these items"},
    "stop_title": {"ko": "처리 목적별 처리정지", "en": "Stop processing for some purposes"},
    "stop_consent": {
        "ko": "동의에 근거한 목적: 동의를 즉시 철회합니다.",
        "en": "Purposes based on your consent: your consent is withdrawn at once.",
    },
    "stop_other": {
        "ko": "계약·법령·정당한 이익에 근거한 목적: 처리정지 요구로 접수되며, 개인정보 보호책임자가 10일 이내에 "
        "결정합니다 (법률상 의무 등 개인정보 보호법 제37조 제2항의 사유가 있으면 거절될 수 있습니다).",
        "en": "Purposes based on contract, law or legitimate interest: registered as a request to stop processing, "
        "which the privacy officer decides within 10 days (it may be refused on the grounds of PIPA Art. 37(2), "
        "such as a legal obligation).",
    },
    "stop_submit": {"ko": "처리정지 요구", "en": "Ask to stop"},
    "scope.items": {"ko": "항목", "en": "items"},
    "officer.items": {"ko": "항목 (정정·일부 삭제)", "en": "Items (correction, partial deletion)"},
    "officer.by_hand": {
        "ko": "직접 정정했음 (값 입력 없이 완료)",
        "en": "I corrected it myself (complete without values)",
    },
    "officer.new_value": {
        "ko": "새 값 (서면 요구에 적힌 값; 저장되지 않음)",
        "en": "New value (from the written request; not stored)",
    },
    "status.registered": {"ko": "접수됨 (처리 중)", "en": "registered (in progress)"},
    "status.completed": {"ko": "처리 완료", "en": "completed"},
    "status.refused": {"ko": "거절", "en": "refused"},
    "scope.all": {"ko": "회원 탈퇴 (전체)", "en": "leaving membership (all)"},
    "channel.web": {"ko": "웹", "en": "web"},
    "channel.email": {"ko": "이메일", "en": "email"},
    "channel.written": {"ko": "서면", "en": "in writing"},
    "request_id": {"ko": "요청 번호", "en": "Request"},
    "status": {"ko": "상태", "en": "Status"},
    "received": {"ko": "접수", "en": "Received"},
    "completed": {"ko": "처리", "en": "Completed"},
    "refused_because": {"ko": "거절 사유", "en": "Refused because"},
    "retained_title": {"ko": "법령에 따라 보관하는 기록", "en": "Records the law makes us keep"},
    "count": {"ko": "건수", "en": "Count"},
    "until": {"ko": "보관 기한", "en": "Kept until"},
    "consent_title": {"ko": "선택 동의 관리", "en": "Your optional consents"},
    "consent_intro": {
        "ko": "아래 목적은 동의한 경우에만 개인정보를 처리하며, 언제든지 철회할 수 있습니다.",
        "en": "The purposes below process personal data only with your consent, which you can withdraw at any time.",
    },
    "consent_saved": {"ko": "동의 설정을 저장했습니다.", "en": "Your choices are saved."},
    "consent_save": {"ko": "선택 저장", "en": "Save my choices"},
    "consent_accept_all": {"ko": "모두 동의", "en": "Accept all"},
    "consent_decline_all": {"ko": "모두 거부", "en": "Decline all"},
    "gpc_active": {
        "ko": "브라우저가 Global Privacy Control 신호를 보내고 있습니다.",
        "en": "Your browser sends the Global Privacy Control signal.",
    },
    # The privacy officer's pages (/officer/).
    "officer.title": {"ko": "개인정보 보호책임자 — 요청 관리", "en": "Privacy officer — requests"},
    "officer.requests": {"ko": "요청 관리", "en": "Requests"},
    "officer.role": {"ko": "개인정보 보호책임자", "en": "privacy officer"},
    "officer.back": {"ko": "← 요청 관리", "en": "← Requests"},
    "officer.to_handle": {"ko": "처리할 요청 (기한 초과 먼저)", "en": "Requests to handle (overdue first)"},
    "officer.member": {"ko": "회원", "en": "Member"},
    "officer.member_id": {"ko": "회원 ID", "en": "Member id"},
    "officer.kind": {"ko": "종류", "en": "Kind"},
    "officer.channel": {"ko": "경로", "en": "Channel"},
    "officer.due": {"ko": "처리 기한", "en": "Due"},
    "officer.received_due": {"ko": "접수 / 기한", "en": "Received / due"},
    "officer.overdue": {"ko": "기한 초과", "en": "overdue"},
    "officer.no_requests": {"ko": "요청이 없습니다.", "en": "No requests."},
    "officer.undelivered": {"ko": "전달되지 않은 통지", "en": "Notices not delivered"},
    "officer.undelivered_note": {
        "ko": "메일 서버 장애 등; 주소는 보관 기간이 끝나면 파기",
        "en": "mail server down, etc.; each address is destroyed when its window ends",
    },
    "officer.notice": {"ko": "통지", "en": "Notice"},
    "officer.attempts": {"ko": "시도", "en": "Attempts"},
    "officer.last_error": {"ko": "마지막 오류", "en": "Last error"},
    "officer.next_attempt": {"ko": "다음 시도", "en": "Next attempt"},
    "officer.notice_expired": {"ko": "전달 실패 (기한 만료)", "en": "not delivered (window ended)"},
    "officer.notice_retrying": {"ko": "재시도 중", "en": "retrying"},
    "officer.register_title": {"ko": "서면·이메일 요청 등록", "en": "Register a written or emailed request"},
    "officer.scope_all": {"ko": "전체 (회원탈퇴)", "en": "All (leaves membership)"},
    "officer.scope_some": {"ko": "아래에서 고른 목적만:", "en": "Only the purposes ticked below:"},
    "officer.scope_hint": {
        "ko": "목적별로 처리하려면 '아래에서 고른 목적만'을 선택하고 목적을 하나 이상 고르세요. "
        "열람·삭제 요구는 목적을 고르지 않습니다.",
        "en": "To handle some purposes only, choose 'Only the purposes ticked below' and tick at least one. "
        "Access and deletion requests take no purposes.",
    },
    "officer.register": {"ko": "등록", "en": "Register"},
    "officer.request": {"ko": "요청", "en": "Request"},
    "officer.registered_by": {"ko": "등록", "en": "registered by"},
    "officer.decided_by": {"ko": "처리자", "en": "Decided by"},
    "officer.refusal": {"ko": "거절 사유", "en": "Refusal ground"},
    "officer.kept": {"ko": "법령에 따라 보관", "en": "Kept under the law"},
    "officer.nothing_found": {
        "ko": "해당 회원의 정보가 없습니다.",
        "en": "Nothing was found for this subject: check the member ID.",
    },
    "officer.kept_count": {"ko": "{count}건, {until}까지", "en": "{count}, kept until {until}"},
    "officer.export": {"ko": "회원 데이터 내보내기 (JSON)", "en": "Export the member's data (JSON)"},
    "officer.complete": {"ko": "처리 완료", "en": "Complete"},
    "officer.explanation": {"ko": "설명", "en": "Explanation"},
    "officer.refuse": {"ko": "거절", "en": "Refuse"},
    "officer.destructions": {"ko": "파기 기록", "en": "Destruction ledger"},
    "officer.destructions_note": {
        "ko": "개인정보 없이, 실행·보존 분류별로 파기한 건수와 방법을 기록합니다.",
        "en": "What was destroyed, per run and retention class: counts and methods, no personal data.",
    },
    "officer.ran_at": {"ko": "실행 시각", "en": "Run at"},
    "officer.retention_class": {"ko": "보존 분류", "en": "Retention class"},
    "officer.statute": {"ko": "근거", "en": "Legal basis"},
    "officer.target": {"ko": "대상", "en": "Target"},
    "officer.method": {"ko": "방법", "en": "Method"},
    "officer.executor": {"ko": "실행자", "en": "Executor"},
    "officer.run_id": {"ko": "실행 ID", "en": "Run id"},
    "officer.no_destructions": {"ko": "파기 기록이 없습니다.", "en": "Nothing has been destroyed yet."},
    # Legal bases of purposes (basis_label) and kinds of recipients (kind_label).
    "basis.consent": {"ko": "정보주체의 동의", "en": "the data subject's consent"},
    "basis.contract": {"ko": "계약의 체결·이행", "en": "entering into or performing a contract"},
    "basis.legal_obligation": {"ko": "법령상 의무의 준수", "en": "compliance with a legal obligation"},
    "basis.legitimate_interest": {"ko": "개인정보처리자의 정당한 이익", "en": "the controller's legitimate interest"},
    "recipient_kind.outsourcing": {"ko": "개인정보 처리위탁", "en": "outsourcing of processing"},
    "recipient_kind.provision": {"ko": "개인정보 제3자 제공", "en": "provision to a third party"},
    # Periods (period_label): English units take an 's' for more than one.
    "until_withdrawal": {"ko": "회원 탈퇴(동의 철회) 시까지", "en": "until membership ends (consent is withdrawn)"},
    "unit.years": {"ko": "년", "en": "year"},
    "unit.months": {"ko": "개월", "en": "month"},
    "unit.weeks": {"ko": "주", "en": "week"},
    "unit.days": {"ko": "일", "en": "day"},
    "unit.hours": {"ko": "시간", "en": "hour"},
    "unit.minutes": {"ko": "분", "en": "minute"},
    "unit.seconds": {"ko": "초", "en": "second"},
}


def ui(key: str, lang: str) -> str:
    """A UI phrase in ``lang`` (English when the language has no translation)."""
    texts = _UI[key]
    return texts.get(lang) or texts["en"]


def basis_label(basis: str, lang: str) -> str:
    return ui(f"basis.{basis}", lang)


def kind_label(kind: str, lang: str) -> str:
    return ui(f"recipient_kind.{kind}", lang)


def period_label(period: Period | None, lang: str) -> str:
    """``P5Y`` -> "5년" / "5 years"; ``None`` -> until withdrawal."""
    if period is None:
        return ui("until_withdrawal", lang)
    if lang == "ko":
        return " ".join(f"{n}{ui(f'unit.{unit}', 'ko')}" for unit, n in period.parts())
    return ", ".join(f"{n} {ui(f'unit.{unit}', 'en')}{'' if n == 1 else 's'}" for unit, n in period.parts())


def josa(word: str, pair: str) -> str:
    """The Korean particle that fits after ``word``: ``josa("이름", "과/와")`` -> "과".

    ``pair`` is "after a final consonant/after a vowel" ("을/를", "이/가",
    "은/는", "과/와"); a word not ending in Hangul gets both, e.g. "을(를)".
    """
    with_batchim, without = pair.split("/")
    # The particle follows the word, not a trailing aside: "신용카드 결제 (결제대행)" -> "를".
    word = re.sub(r"\s*\([^()]*\)\s*$", "", word) or word
    last = word.rstrip()[-1:] or " "
    code = ord(last) - 0xAC00
    if not 0 <= code <= 11171:
        return f"{with_batchim}({without})"
    return with_batchim if code % 28 else without
