"""Demo data of a Heihe-like city, written through the public API like any client would."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from services.common.auth import mint_token
from services.common.settings import ComponentSettings

JURISDICTION = "231100"  # 黑河市

# (code, Chinese name, English name, category)
DEPARTMENTS = [
    ("HH-DRC", "黑河市发展和改革委员会", "Development and Reform Commission", "economic"),
    ("HH-FIN", "黑河市财政局", "Finance Bureau", "economic"),
    ("HH-COM", "黑河市商务局", "Commerce Bureau", "economic"),
    ("HH-AGR", "黑河市农业农村局", "Agriculture and Rural Affairs Bureau", "economic"),
    ("HH-NRS", "黑河市自然资源局", "Natural Resources Bureau", "economic"),
    ("HH-BEB", "黑河市营商环境建设监督局", "Business Environment Bureau", "economic"),
    ("HH-EDU", "黑河市教育局", "Education Bureau", "social_services"),
    ("HH-HLT", "黑河市卫生健康委员会", "Health Commission", "social_services"),
    (
        "HH-HRS",
        "黑河市人力资源和社会保障局",
        "Human Resources and Social Security Bureau",
        "social_services",
    ),
    ("HH-CIV", "黑河市民政局", "Civil Affairs Bureau", "social_services"),
    (
        "HH-HUD",
        "黑河市住房和城乡建设局",
        "Housing and Urban-Rural Development Bureau",
        "social_services",
    ),
    ("HH-PSB", "黑河市公安局", "Public Security Bureau", "law_enforcement"),
    ("HH-AMR", "黑河市市场监督管理局", "Market Regulation Administration", "law_enforcement"),
    ("HH-EEB", "黑河市生态环境局", "Ecology and Environment Bureau", "law_enforcement"),
    ("HH-EMB", "黑河市应急管理局", "Emergency Management Bureau", "law_enforcement"),
    ("HH-AIH", "爱辉区人民政府", "Aihui District Government", "districts"),
    ("HH-BAS", "北安市人民政府", "Bei'an City Government", "districts"),
    ("HH-WDL", "五大连池市人民政府", "Wudalianchi City Government", "districts"),
    ("HH-NJS", "嫩江市人民政府", "Nenjiang City Government", "districts"),
    ("HH-XKX", "逊克县人民政府", "Xunke County Government", "districts"),
    ("HH-SWX", "孙吴县人民政府", "Sunwu County Government", "districts"),
]


def seed(gateway_url: str, *, log: Callable[[str], None] = print) -> None:
    """Create the demo city through the gateway; running it twice adds nothing twice."""
    settings = ComponentSettings()
    token = mint_token(
        settings.jwt_secret.get_secret_value(),
        role="admin",
        subject="demo-seed",
        jurisdictions=[JURISDICTION],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{gateway_url}/api", headers=headers, timeout=30) as api:
        existing = api.get(
            "/indicator/v1/departments", params={"jurisdiction": JURISDICTION, "limit": 200}
        )
        existing.raise_for_status()
        if existing.json()["items"]:
            log("== demo data already present; nothing seeded")
            return
        for code, name_zh, name_en, category in DEPARTMENTS:
            api.post(
                "/indicator/v1/departments",
                json={
                    "jurisdiction_code": JURISDICTION,
                    "code": code,
                    "name_zh": name_zh,
                    "name_en": name_en,
                    "category": category,
                },
            ).raise_for_status()
        cycle = api.post(
            "/evaluation/v1/cycles",
            json={
                "jurisdiction_code": JURISDICTION,
                "code": "2026-annual",
                "name": "2026年度黑河市政府绩效综合考评",
                "period": "2026",
            },
        )
        cycle.raise_for_status()
        api.patch(
            f"/evaluation/v1/cycles/{cycle.json()['id']}", json={"status": "open"}
        ).raise_for_status()
        plan = api.post(
            "/disclosure/v1/publications",
            json={
                "jurisdiction_code": JURISDICTION,
                "kind": "plan",
                "title": "2026年度黑河市政府绩效综合考评方案",
                "body": "考评由目标考核、领导考评和社会评价三部分组成，"
                "社会评价面向市民、企业和人大代表、政协委员开展。",
            },
        )
        plan.raise_for_status()
        api.post(f"/disclosure/v1/publications/{plan.json()['id']}/publish").raise_for_status()
        for kind, department, text in [
            ("suggestion", "HH-BEB", "建议企业开办全程网办，减少跑腿次数。"),
            ("complaint", "HH-HRS", "社保窗口排队时间太长。"),
            ("praise", "HH-EDU", "学校课后服务做得很好。"),
        ]:
            api.post(
                "/feedback/v1/citizen-feedback",
                json={
                    "jurisdiction_code": JURISDICTION,
                    "kind": kind,
                    "department_code": department,
                    "text": text,
                },
            ).raise_for_status()
    log(
        f"== demo city seeded: {len(DEPARTMENTS)} departments, 1 open cycle, "
        "1 published plan, 3 citizen feedback items (jurisdiction 231100, Heihe)"
    )
