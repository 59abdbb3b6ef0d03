"""Words of the member's pages (ko/en): withdrawal, a request's status, the
member's own /rights page, the consent page."""

from __future__ import annotations

__all__ = ["MEMBER_PAGES"]

MEMBER_PAGES: dict[str, dict[str, str]] = {
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
    "rights_page_intro": {
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
}
