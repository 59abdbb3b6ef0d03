"""Words of the privacy officer's pages (ko/en): the request desk, the destruction
ledger, identity checks and agents, postponement, limits, objections."""

from __future__ import annotations

__all__ = ["OFFICER_PAGES"]

OFFICER_PAGES: dict[str, dict[str, str]] = {
    "officer.items": {"ko": "항목 (정정·일부 삭제)", "en": "Items (correction, partial deletion)"},
    "officer.by_hand": {
        "ko": "직접 정정했음 (값 입력 없이 완료)",
        "en": "I corrected it myself (complete without values)",
    },
    "officer.new_value": {
        "ko": "새 값 (서면 요구에 적힌 값; 저장되지 않음)",
        "en": "New value (from the written request; not stored)",
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
    # The rights workflow: identity and agents, postponement, limits, objections.
    "officer.identity_check": {"ko": "본인 확인 방법", "en": "Identity checked by"},
    "identity.signed_in": {"ko": "로그인 세션", "en": "signed-in session"},
    "identity.email_link": {"ko": "등록 이메일로 보낸 1회용 링크", "en": "single-use link to the address on file"},
    "identity.registered_email": {"ko": "등록된 이메일에서 보낸 요청", "en": "email from the address on file"},
    "identity.id_document": {"ko": "신분증 확인", "en": "identity document"},
    "identity.phone": {"ko": "등록 전화번호 확인", "en": "call back / phone check"},
    "officer.requester": {"ko": "요구한 사람", "en": "Requested by"},
    "requester.subject": {"ko": "정보주체 본인", "en": "the data subject"},
    "requester.agent": {"ko": "대리인 (위임을 받은 자)", "en": "an agent (power of attorney)"},
    "requester.legal_representative": {"ko": "법정대리인", "en": "a legal representative"},
    "officer.agent_reference": {"ko": "위임장 등 참조번호", "en": "Power-of-attorney reference"},
    "officer.postponed": {"ko": "열람 연기", "en": "Access postponed"},
    "officer.postpone": {"ko": "열람 연기", "en": "Postpone"},
    "officer.postpone_until": {"ko": "새 기한", "en": "New date"},
    "officer.postpone_reason": {"ko": "연기 사유", "en": "Reason"},
    "officer.withheld": {"ko": "열람 제한 항목 (선택 시 해당 부분만 제한)", "en": "Withhold only these parts"},
    "officer.limitation": {"ko": "열람 제한", "en": "Access limited"},
    "officer.no_deletion_refusal": {
        "ko": "삭제 요구는 거절하지 않습니다. 처리 완료 시 다른 법령이 보관을 정한 기록만 분리 보관하고, "
        "무엇을 어떤 법령에 따라 언제까지 보관하는지 회원에게 알립니다.",
        "en": "A deletion is not refused. Completing it keeps apart only what another law names, and tells the "
        "member what is kept, under which law and until when.",
    },
    "objections": {"ko": "이의제기", "en": "Objections"},
    "objection.statement": {"ko": "이의 내용", "en": "Objection"},
    "objection.register": {"ko": "이의제기 등록", "en": "Register an objection"},
    "objection.submit": {"ko": "이의제기", "en": "Object"},
    "objection.decide": {"ko": "이의제기 결정", "en": "Decide the objection"},
    "objection.upheld": {"ko": "인용 (요구대로 처리)", "en": "upheld (carry out the request)"},
    "objection.dismissed": {"ko": "기각", "en": "dismissed"},
    "objection.open": {"ko": "검토 중", "en": "waiting for a decision"},
    "objection.reason": {"ko": "결정 사유", "en": "Reason"},
}
