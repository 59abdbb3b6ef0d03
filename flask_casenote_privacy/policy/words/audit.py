"""Words of the audit pack and the access review pages (Korean first, English)."""

from __future__ import annotations

from .member import MEMBER_PAGES
from .officer import OFFICER_PAGES
from .policy import POLICY_PAGE

__all__ = ["audit_words"]

_WORDS: dict[str, tuple[str, str]] = {
    "title": ("개인정보 감사 자료", "Privacy audit report"),
    "period": ("기간", "Period"),
    "generated": ("작성 시각", "Generated at"),
    "policy_version": ("처리방침 버전", "Policy version"),
    "controller": ("개인정보처리자", "Controller"),
    "officer": ("개인정보 보호책임자", "Privacy officer"),
    "retention": ("보유 현황", "Retention inventory"),
    "class": ("보유 구분", "Retention class"),
    "rows": ("건수", "Records"),
    "oldest": ("가장 오래된 기록", "Oldest"),
    "next_expiry": ("다음 파기 예정", "Next expiry"),
    "overdue": ("기한 경과(미파기)", "Past expiry"),
    "requests": ("정보주체 요구 처리 현황", "Data-subject requests against their deadlines"),
    "id": ("번호", "Id"),
    "due": ("처리기한", "Due"),
    "deadline": ("기한 준수", "Deadline"),
    "on_time": ("기한 내", "on time"),
    "late": ("지연", "late"),
    "open": ("처리 중", "open"),
    "total": ("합계", "Total"),
    "destructions": ("개인정보 파기 관리대장", "Destruction ledger (파기 관리대장)"),
    "date": ("파기 일시", "Destroyed at"),
    "items": ("파기 항목", "Items"),
    "method": ("파기 방법", "Method"),
    "executor": ("파기 처리자", "Run by"),
    "approved_by": ("파기 승인자", "Approved by"),
    "provisions": ("제3자 제공·처리위탁 현황 (수령자별)", "Provisions and entrustments by recipient"),
    "recipient": ("제공받는 자", "Recipient"),
    "subjects": ("정보주체 수", "Data subjects"),
    "provided_items": ("제공 항목", "Items provided"),
    "first_last": ("최초 / 최종", "First / last"),
    "reviews": ("접속기록 점검 내역", "Operator access reviews"),
    "month": ("점검 월", "Month"),
    "reviewer": ("점검자", "Reviewer"),
    "reviewed_at": ("점검 일시", "Reviewed at"),
    "flagged": ("확인 필요", "Flagged"),
    "chain": ("접속기록 위·변조 검증", "Access record chain"),
    "chain_ok": ("이상 없음", "intact"),
    "chain_broken": ("손상됨", "BROKEN"),
    "versions": ("처리방침 변경 이력", "Policy versions"),
    "recorded_at": ("기록 시각", "Recorded at"),
    "none": ("없음", "none"),
    "show": ("보기", "Show"),
    "from": ("시작일", "From"),
    "to": ("종료일", "To"),
    "download": ("내려받기", "Download"),
    "access_review": ("접속기록 월간 점검", "Monthly access review"),
    "records": ("기록 수", "Records"),
    "operator": ("취급자", "Operator"),
    "accessed_at": ("접속 일시", "Accessed at"),
    "task": ("수행 업무", "Task"),
    "subject": ("정보주체", "Subject"),
    "reason": ("사유", "Reason"),
    "flags": ("점검 항목", "Flags"),
    "sign": ("점검 완료 기록", "Record the review"),
    "off_hours": ("업무시간 외", "off hours"),
    "bulk_export": ("대량 다운로드", "bulk export"),
    "many_subjects": ("다수 정보주체 조회", "many subjects"),
    "no_reason": ("사유 없음", "no reason"),
}


#: The audit pages' words that the other pages say too, by their key there (one source each).
_SHARED = {
    "statute": "officer.statute",
    "kind": "officer.kind",
    "status": "status",
    "received": "received",
    "completed": "completed",
    "refused": "status.refused",
    "ground": "officer.refusal",
    "count": "count",
    "version": "version",
    "back": "officer.back",
}


def audit_words(lang: str) -> dict[str, str]:
    """The audit pages' words in ``lang`` (Korean unless it is English)."""
    index = 1 if lang == "en" else 0
    pages = {**POLICY_PAGE, **MEMBER_PAGES, **OFFICER_PAGES}
    shared = {key: pages[ui_key]["en" if index else "ko"] for key, ui_key in _SHARED.items()}
    return {key: pair[index] for key, pair in _WORDS.items()} | shared
