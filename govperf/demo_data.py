"""The demo city's tables: Heihe's departments and its 2026 indicator systems.

Leaves carry three demo-only keys that `govperf.demo` turns into API fields or values:
``_source`` and ``_overrides`` name departments by code (the API wants their ids), and
``_sim`` says how to invent a year of values (see `govperf.demo.simulate`).
"""

from __future__ import annotations

from typing import Any

JURISDICTION = "231100"  # 黑河市
YEAR = 2026
CATEGORIES = ("economic", "social_services", "law_enforcement", "districts")
SOURCE_SYSTEM = "黑河市绩效考评数据报送平台"

# (code, Chinese name, English name, category, parent code); parents come first.
# fmt: off
DEPARTMENTS: list[tuple[str, str, str, str, str | None]] = [
    ("HH-GOV", "黑河市人民政府", "Heihe Municipal People's Government", "districts", None),
    # economic
    ("HH-DRC", "黑河市发展和改革委员会", "Development and Reform Commission", "economic", "HH-GOV"),
    ("HH-FIN", "黑河市财政局", "Finance Bureau", "economic", "HH-GOV"),
    ("HH-COM", "黑河市商务局", "Commerce Bureau", "economic", "HH-GOV"),
    ("HH-AGR", "黑河市农业农村局", "Agriculture and Rural Affairs Bureau", "economic", "HH-GOV"),
    ("HH-NRS", "黑河市自然资源局", "Natural Resources Bureau", "economic", "HH-GOV"),
    ("HH-BEB", "黑河市营商环境建设监督局", "Business Environment Bureau", "economic", "HH-GOV"),
    ("HH-IIT", "黑河市工业和信息化局", "Industry and Information Technology Bureau", "economic",
     "HH-GOV"),
    ("HH-SCI", "黑河市科学技术局", "Science and Technology Bureau", "economic", "HH-GOV"),
    ("HH-TRA", "黑河市交通运输局", "Transport Bureau", "economic", "HH-GOV"),
    ("HH-WAT", "黑河市水务局", "Water Affairs Bureau", "economic", "HH-GOV"),
    ("HH-FGB", "黑河市林业和草原局", "Forestry and Grassland Bureau", "economic", "HH-GOV"),
    ("HH-STA", "黑河市统计局", "Statistics Bureau", "economic", "HH-GOV"),
    ("HH-DAT", "黑河市数据局", "Data Bureau", "economic", "HH-GOV"),
    ("HH-SAS", "黑河市人民政府国有资产监督管理委员会", "State-owned Assets Supervision Commission",
     "economic", "HH-GOV"),
    ("HH-GRA", "黑河市粮食和物资储备局", "Grain and Material Reserves Bureau", "economic",
     "HH-GOV"),
    # social services
    ("HH-EDU", "黑河市教育局", "Education Bureau", "social_services", "HH-GOV"),
    ("HH-HLT", "黑河市卫生健康委员会", "Health Commission", "social_services", "HH-GOV"),
    ("HH-HRS", "黑河市人力资源和社会保障局", "Human Resources and Social Security Bureau",
     "social_services", "HH-GOV"),
    ("HH-CIV", "黑河市民政局", "Civil Affairs Bureau", "social_services", "HH-GOV"),
    ("HH-HUD", "黑河市住房和城乡建设局", "Housing and Urban-Rural Development Bureau",
     "social_services", "HH-GOV"),
    ("HH-CTT", "黑河市文化广电和旅游局", "Culture, Radio, Television and Tourism Bureau",
     "social_services", "HH-GOV"),
    ("HH-VET", "黑河市退役军人事务局", "Veterans Affairs Bureau", "social_services", "HH-GOV"),
    ("HH-MIB", "黑河市医疗保障局", "Healthcare Security Bureau", "social_services", "HH-GOV"),
    ("HH-SPT", "黑河市体育局", "Sports Bureau", "social_services", "HH-GOV"),
    ("HH-PET", "黑河市信访局", "Letters and Visits Bureau", "social_services", "HH-GOV"),
    # law enforcement
    ("HH-PSB", "黑河市公安局", "Public Security Bureau", "law_enforcement", "HH-GOV"),
    ("HH-JUS", "黑河市司法局", "Justice Bureau", "law_enforcement", "HH-GOV"),
    ("HH-AMR", "黑河市市场监督管理局", "Market Regulation Administration", "law_enforcement",
     "HH-GOV"),
    ("HH-EEB", "黑河市生态环境局", "Ecology and Environment Bureau", "law_enforcement", "HH-GOV"),
    ("HH-EMB", "黑河市应急管理局", "Emergency Management Bureau", "law_enforcement", "HH-GOV"),
    ("HH-AUD", "黑河市审计局", "Audit Bureau", "law_enforcement", "HH-GOV"),
    ("HH-UMB", "黑河市城市管理综合执法局", "Urban Management and Law Enforcement Bureau",
     "law_enforcement", "HH-GOV"),
    ("HH-ADO", "黑河市人民防空办公室", "Civil Air Defence Office", "law_enforcement", "HH-GOV"),
    # county-level governments, each its own unit
    ("HH-AIH", "爱辉区人民政府", "Aihui District Government", "districts", None),
    ("HH-BAS", "北安市人民政府", "Bei'an City Government", "districts", None),
    ("HH-WDL", "五大连池市人民政府", "Wudalianchi City Government", "districts", None),
    ("HH-NJS", "嫩江市人民政府", "Nenjiang City Government", "districts", None),
    ("HH-XKX", "逊克县人民政府", "Xunke County Government", "districts", None),
    ("HH-SWX", "孙吴县人民政府", "Sunwu County Government", "districts", None),
]
# fmt: on


# --- building blocks ------------------------------------------------------------------------


def branch(code: str, name_zh: str, name_en: str, weight: float, *children: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "weight": weight,
        "children": list(children),
    }


def leaf(
    code: str,
    name_zh: str,
    name_en: str,
    unit: str,
    weight: float,
    frequency: str,
    rule: dict[str, Any],
    *,
    target: float | None = None,
    baseline: float | None = None,
    polarity: str = "higher",
    description: str = "",
    source: str | None = None,
    overrides: dict[str, float] | None = None,
    sim: tuple[Any, ...] | None = None,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "description": description,
        "unit": unit,
        "polarity": polarity,
        "weight": weight,
        "frequency": frequency,
        "target": target,
        "baseline": baseline,
        "rule": rule,
        "_source": source,
        "_overrides": overrides or {},
        "_sim": sim,
    }
    return node


def ratio(ceiling: float = 1.0) -> dict[str, Any]:
    return {"method": "ratio", "ceiling": ceiling}


def linear(best: float, worst: float, floor: float = 0.0) -> dict[str, Any]:
    return {"method": "linear_interval", "best": best, "worst": worst, "floor": floor}


def bands(*limits: tuple[float | None, float | None, float]) -> dict[str, Any]:
    return {
        "method": "threshold_bands",
        "bands": [{"min": low, "max": high, "points": points} for low, high, points in limits],
    }


def deduction(per_unit: float, basis: str, unit_size: float = 1.0) -> dict[str, Any]:
    return {"method": "deduction", "per_unit": per_unit, "basis": basis, "unit_size": unit_size}


def bonus(per_unit: float, cap: float) -> dict[str, Any]:
    return {"method": "bonus", "per_unit": per_unit, "cap": cap}


def veto(reason: str) -> dict[str, Any]:
    return {
        "method": "veto",
        "operator": ">=",
        "threshold": 1,
        "grade_cap": "不合格",
        "reason": reason,
    }


def formula(numerator: str, denominator: str, factor: float = 100) -> dict[str, Any]:
    return {
        "method": "formula",
        "numerator": numerator,
        "denominator": denominator,
        "factor": factor,
    }


# --- the four systems ---------------------------------------------------------------------
# fmt: off

ECONOMIC = [
    branch(
        "ECO.1", "经济发展", "Economic development", 40,
        branch(
            "ECO.1.1", "主要经济指标", "Key economic indicators", 24,
            leaf("ECO.1.1.1", "地区生产总值增速", "GDP growth", "%", 8, "quarterly",
                 linear(7.0, 3.0, 0.3), target=6.0, baseline=5.2, source="HH-STA"),
            leaf("ECO.1.1.2", "固定资产投资增速", "Fixed-asset investment growth", "%", 8,
                 "quarterly", ratio(1.2), target=8.0, baseline=6.5, sim=("normal", 8.0, 0.15)),
            leaf("ECO.1.1.3", "一般公共预算收入完成率", "Budget revenue vs plan", "%", 8,
                 "quarterly", ratio(1.1), target=100, baseline=96),
        ),
        branch(
            "ECO.1.2", "招商引资与对外贸易", "Investment and foreign trade", 16,
            leaf("ECO.1.2.1", "招商引资到位资金", "Investment attracted", "亿元", 8, "quarterly",
                 ratio(1.2), target=12, baseline=10, sim=("normal", 12, 0.2)),
            leaf("ECO.1.2.2", "对俄进出口总额增速", "Growth of trade with Russia", "%", 8,
                 "quarterly", bands((15, None, 1.0), (10, 15, 0.8), (5, 10, 0.6), (0, 5, 0.3)),
                 target=12, baseline=9, sim=("normal", 12, 0.3)),
        ),
    ),
    branch(
        "ECO.2", "改革创新", "Reform and innovation", 25,
        branch(
            "ECO.2.1", "营商环境", "Business environment", 15,
            leaf("ECO.2.1.1", "企业开办平均办理时限", "Average time to start a business", "天",
                 5, "monthly", linear(1.0, 5.0, 0.2), target=1.5, baseline=3.0,
                 polarity="lower", sim=("normal", 1.6, 0.25)),
            leaf("ECO.2.1.2", "政务服务事项受理量", "Service applications accepted", "件", 3,
                 "monthly", ratio(1.2), target=300, baseline=260),
            leaf("ECO.2.1.3", "政务服务事项按期办结量", "Applications settled on time", "件", 3,
                 "monthly", ratio(1.2), target=290, baseline=240,
                 sim=("share", "ECO.2.1.2", 0.93, 1.0)),
            leaf("ECO.2.1.4", "政务服务事项按期办结率", "On-time settlement rate", "%", 4,
                 "monthly", formula("#{ECO.2.1.3}", "#{ECO.2.1.2}"), target=98, baseline=95,
                 description="按期办结量 ÷ 受理量 × 100"),
        ),
        branch(
            "ECO.2.2", "科技创新", "Science and innovation", 10,
            leaf("ECO.2.2.1", "新增高新技术企业数", "New high-tech enterprises", "家", 10,
                 "annual", ratio(1.2), target=8, baseline=6, sim=("normal", 8, 0.3)),
            leaf("ECO.2.2.2", "改革创新获省级以上试点或表彰", "Provincial pilots and awards",
                 "项", 0, "annual", bonus(1, 3), description="每项加 1 分，最多加 3 分"),
        ),
    ),
    branch(
        "ECO.3", "依法行政", "Law-based administration", 20,
        leaf("ECO.3.1", "行政复议纠错率", "Decisions corrected on review", "%", 6, "quarterly",
             deduction(2, "shortfall"), target=3.0, baseline=4.5, polarity="lower",
             sim=("normal", 3.0, 0.4)),
        leaf("ECO.3.2", "企业和群众投诉量", "Complaints by firms and citizens", "件", 6,
             "monthly", deduction(0.5, "incident"), target=1, baseline=3, polarity="lower",
             sim=("count", 1.2)),
        leaf("ECO.3.3", "规范性文件合法性审核率", "Legality review of normative documents", "%",
             8, "annual", bands((100, None, 1.0), (95, 100, 0.8), (90, 95, 0.5)), target=100,
             baseline=97, sim=("normal", 98, 0.02)),
    ),
    branch(
        "ECO.4", "党风廉政", "Integrity and discipline", 15,
        leaf("ECO.4.1", "预算执行率", "Budget execution", "%", 8, "quarterly", ratio(),
             target=95, baseline=90),
        leaf("ECO.4.2", "审计发现问题整改率", "Audit findings rectified", "%", 7, "annual",
             linear(100, 80), target=100, baseline=88, sim=("normal", 94, 0.05)),
        leaf("ECO.4.3", "重大违纪违法案件", "Major disciplinary cases", "起", 0, "annual",
             veto("发生重大违纪违法案件，一票否决"), polarity="lower"),
    ),
]

SOCIAL_SERVICES = [
    branch(
        "SOC.1", "民生保障", "People's livelihood", 40,
        branch(
            "SOC.1.1", "就业与社会保障", "Jobs and social security", 18,
            leaf("SOC.1.1.1", "城镇新增就业人数", "New urban jobs", "人", 6, "quarterly",
                 ratio(1.2), target=600, baseline=520, sim=("normal", 600, 0.15)),
            leaf("SOC.1.1.2", "城镇调查失业率", "Surveyed urban unemployment", "%", 6,
                 "quarterly", linear(4.5, 6.5), target=5.0, baseline=5.3, polarity="lower"),
            leaf("SOC.1.1.3", "基本养老保险参保率", "Pension insurance coverage", "%", 6,
                 "annual", bands((95, None, 1.0), (90, 95, 0.8), (85, 90, 0.5)), target=95,
                 baseline=93, sim=("normal", 94, 0.03)),
        ),
        branch(
            "SOC.1.2", "教育与健康", "Education and health", 22,
            leaf("SOC.1.2.1", "学前教育毛入园率", "Preschool gross enrolment", "%", 8, "annual",
                 ratio(), target=92, baseline=90),
            leaf("SOC.1.2.2", "每千人口执业（助理）医师数", "Doctors per 1,000 people", "人/千人",
                 6, "annual", ratio(1.1), target=3.2, baseline=3.0),
            leaf("SOC.1.2.3", "九年义务教育巩固率", "Compulsory education retention", "%", 8,
                 "annual", linear(99.0, 95.0, 0.4), target=98.5, baseline=98.0,
                 sim=("normal", 98.2, 0.01)),
        ),
    ),
    branch(
        "SOC.2", "服务质量", "Service quality", 30,
        branch(
            "SOC.2.1", "民生诉求办理", "Handling citizens' requests", 16,
            leaf("SOC.2.1.1", "民生诉求受理量", "Requests received", "件", 4, "monthly",
                 ratio(1.2), target=120, baseline=135, polarity="lower"),
            leaf("SOC.2.1.2", "民生诉求按期办结量", "Requests settled on time", "件", 4,
                 "monthly", ratio(1.2), target=115, baseline=120,
                 sim=("share", "SOC.2.1.1", 0.9, 1.0)),
            leaf("SOC.2.1.3", "民生诉求按期办结率", "On-time settlement rate", "%", 8, "monthly",
                 formula("#{SOC.2.1.2}", "#{SOC.2.1.1}"), target=98, baseline=94,
                 description="按期办结量 ÷ 受理量 × 100"),
        ),
        leaf("SOC.2.2", "群众满意度", "Public satisfaction", "分", 10, "annual",
             linear(95, 75, 0.2), target=90, baseline=86),
        leaf("SOC.2.3", "社保待遇核定平均办理时限", "Average time to grant benefits", "天", 4,
             "monthly", ratio(1.2), target=5, baseline=7, polarity="lower",
             sim=("normal", 5.5, 0.2)),
        leaf("SOC.2.4", "民生工作获省级以上表彰", "Provincial and national commendations", "项",
             0, "annual", bonus(1, 3), description="每项加 1 分，最多加 3 分"),
    ),
    branch(
        "SOC.3", "依法行政", "Law-based administration", 15,
        leaf("SOC.3.1", "行政诉讼败诉案件", "Administrative lawsuits lost", "件", 8, "annual",
             deduction(2, "incident"), target=0, baseline=1, polarity="lower",
             sim=("count", 0.4)),
        leaf("SOC.3.2", "政府信息按时公开率", "Information disclosed on time", "%", 7,
             "quarterly", deduction(1, "shortfall"), target=100, baseline=97,
             sim=("normal", 98.5, 0.015)),
    ),
    branch(
        "SOC.4", "安全稳定", "Safety and stability", 15,
        leaf("SOC.4.1", "信访事项按期办结率", "Petitions settled on time", "%", 8, "quarterly",
             ratio(), target=95, baseline=92),
        leaf("SOC.4.2", "校园及医疗机构安全隐患整改率", "Hazards fixed in schools and hospitals",
             "%", 7, "quarterly", bands((100, None, 1.0), (95, 100, 0.85), (90, 95, 0.6)),
             target=100, baseline=96, sim=("normal", 97, 0.03)),
        leaf("SOC.4.3", "重大安全责任事故", "Major safety accidents", "起", 0, "annual",
             veto("发生重大安全责任事故，一票否决"), polarity="lower"),
    ),
]

LAW_ENFORCEMENT = [
    branch(
        "LAW.1", "依法行政", "Law-based administration", 35,
        branch(
            "LAW.1.1", "执法规范化", "Standardised enforcement", 20,
            leaf("LAW.1.1.1", "抽查行政执法案卷数", "Case files reviewed", "件", 3, "quarterly",
                 ratio(1.2), target=30, baseline=24),
            leaf("LAW.1.1.2", "合格行政执法案卷数", "Case files up to standard", "件", 3,
                 "quarterly", ratio(1.2), target=29, baseline=22,
                 sim=("share", "LAW.1.1.1", 0.9, 1.0)),
            leaf("LAW.1.1.3", "行政执法案卷合格率", "Case files up to standard (share)", "%", 8,
                 "quarterly", formula("#{LAW.1.1.2}", "#{LAW.1.1.1}"), target=97,
                 baseline=92, description="合格案卷数 ÷ 抽查案卷数 × 100"),
            leaf("LAW.1.1.4", "执法案件平均办理时限", "Average case handling time", "天", 6,
                 "monthly", linear(15, 45, 0.2), target=20, baseline=28, polarity="lower",
                 sim=("normal", 22, 0.2)),
        ),
        leaf("LAW.1.2", "行政复议纠错率", "Decisions corrected on review", "%", 8, "quarterly",
             deduction(2, "shortfall"), target=3.0, baseline=5.0, polarity="lower",
             sim=("normal", 3.2, 0.35)),
        leaf("LAW.1.3", "执法投诉量", "Complaints about enforcement", "件", 7, "monthly",
             deduction(1, "incident"), target=1, baseline=2, polarity="lower",
             sim=("count", 0.8)),
    ),
    branch(
        "LAW.2", "安全稳定", "Safety and stability", 35,
        branch(
            "LAW.2.1", "社会治安", "Public order", 18,
            leaf("LAW.2.1.1", "刑事案件发案数", "Criminal cases", "起", 6, "monthly",
                 ratio(1.2), target=45, baseline=52, polarity="lower",
                 sim=("normal", 46, 0.15)),
            leaf("LAW.2.1.2", "命案破案率", "Homicide clearance rate", "%", 6, "annual",
                 bands((100, None, 1.0), (95, 100, 0.7), (90, 95, 0.4)), target=100,
                 baseline=100, sim=("normal", 99, 0.02)),
            leaf("LAW.2.1.3", "群众安全感", "Public sense of safety", "分", 6, "annual",
                 linear(98, 85, 0.3), target=96, baseline=95),
        ),
        branch(
            "LAW.2.2", "安全生产与食品安全", "Work and food safety", 17,
            leaf("LAW.2.2.1", "生产安全事故起数", "Work-safety accidents", "起", 7, "quarterly",
                 deduction(2, "incident"), target=0, baseline=2, polarity="lower",
                 sim=("count", 0.6)),
            leaf("LAW.2.2.2", "重点行业领域安全检查覆盖率", "Inspection coverage of key sectors",
                 "%", 5, "quarterly", ratio(), target=100, baseline=92,
                 sim=("normal", 96, 0.04)),
            leaf("LAW.2.2.3", "食品安全抽检合格率", "Food samples passing", "%", 5, "quarterly",
                 bands((98, None, 1.0), (96, 98, 0.8), (94, 96, 0.5)), target=98,
                 baseline=97.5, sim=("normal", 97.8, 0.012)),
            leaf("LAW.2.2.4", "重大安全生产事故", "Major work-safety accidents", "起", 0,
                 "annual", veto("发生重大安全生产事故，一票否决"), polarity="lower"),
        ),
    ),
    branch(
        "LAW.3", "生态环保", "Environmental protection", 30,
        leaf("LAW.3.1", "空气质量优良天数比率", "Share of days with good air", "%", 12, "monthly",
             linear(95, 80), target=93, baseline=91.5, sim=("normal", 92, 0.04)),
        leaf("LAW.3.2", "地表水达到或好于Ⅲ类水体比例", "Surface water class III or better", "%",
             10, "quarterly", ratio(1.1), target=85, baseline=83),
        leaf("LAW.3.3", "生态环境违法案件查处数", "Environmental offences prosecuted", "件", 8,
             "monthly", ratio(1.2), target=6, baseline=5, sim=("normal", 6, 0.3)),
        leaf("LAW.3.4", "执法创新经验获省级以上推广", "Enforcement practice adopted by province",
             "项", 0, "annual", bonus(1.5, 3), description="每项加 1.5 分，最多加 3 分"),
    ),
]

DISTRICTS = [
    branch(
        "DIS.1", "经济发展", "Economic development", 40,
        branch(
            "DIS.1.1", "经济增长", "Growth", 25,
            leaf("DIS.1.1.1", "地区生产总值增速", "GDP growth", "%", 10, "quarterly",
                 linear(7.5, 3.0, 0.3), target=6.0, baseline=5.4, source="HH-STA",
                 overrides={"HH-AIH": 6.5, "HH-SWX": 5.0}, sim=("normal", None, 0.1)),
            leaf("DIS.1.1.2", "规模以上工业增加值增速", "Industrial value added growth", "%", 8,
                 "monthly", ratio(1.2), target=7.0, baseline=6.1, source="HH-STA",
                 sim=("normal", 7.0, 0.2)),
            leaf("DIS.1.1.3", "一般公共预算收入增速", "Budget revenue growth", "%", 7,
                 "quarterly", ratio(1.2), target=5.0, baseline=4.0, sim=("normal", 5.0, 0.25)),
        ),
        branch(
            "DIS.1.2", "开放合作", "Opening up", 15,
            leaf("DIS.1.2.1", "招商引资到位资金", "Investment attracted", "亿元", 8, "quarterly",
                 ratio(1.2), target=15, baseline=12, sim=("normal", 15, 0.25)),
            leaf("DIS.1.2.2", "外贸进出口总额", "Foreign trade", "亿元", 7, "annual",
                 bands((20, None, 1.0), (15, 20, 0.8), (10, 15, 0.6), (0, 10, 0.3)),
                 target=18, baseline=15, sim=("normal", 17, 0.3)),
        ),
    ),
    branch(
        "DIS.2", "民生保障", "People's livelihood", 25,
        leaf("DIS.2.1", "城乡居民人均可支配收入增速", "Growth of disposable income", "%", 8,
             "quarterly", linear(7.0, 3.0), target=6.0, baseline=5.6, sim=("normal", 5.8, 0.1)),
        branch(
            "DIS.2.2", "民生实事", "Projects for the people", 17,
            leaf("DIS.2.2.1", "民生实事项目计划数", "Projects planned", "个", 4, "annual",
                 ratio(), target=12, baseline=10, sim=("normal", 12, 0.15)),
            leaf("DIS.2.2.2", "民生实事项目完成数", "Projects completed", "个", 5, "annual",
                 ratio(1.2), target=11, baseline=9, sim=("share", "DIS.2.2.1", 0.8, 1.0)),
            leaf("DIS.2.2.3", "民生实事项目完成率", "Projects completed (share)", "%", 8,
                 "annual", formula("#{DIS.2.2.2}", "#{DIS.2.2.1}"), target=95, baseline=90,
                 description="完成数 ÷ 计划数 × 100"),
        ),
    ),
    branch(
        "DIS.3", "生态环保", "Environmental protection", 15,
        leaf("DIS.3.1", "空气质量优良天数比率", "Share of days with good air", "%", 8, "monthly",
             linear(95, 80), target=93, baseline=92, sim=("normal", 93, 0.04)),
        leaf("DIS.3.2", "森林覆盖率", "Forest coverage", "%", 7, "annual",
             deduction(2, "shortfall", 0.5), target=47, baseline=46.5,
             sim=("normal", 46.8, 0.01)),
    ),
    branch(
        "DIS.4", "安全稳定", "Safety and stability", 20,
        leaf("DIS.4.1", "越级上访批次", "Petitions bypassing local levels", "件", 7,
             "quarterly", deduction(1, "incident"), target=0, baseline=3, polarity="lower",
             sim=("count", 1.0)),
        leaf("DIS.4.2", "生产安全事故起数", "Work-safety accidents", "起", 7, "quarterly",
             deduction(2, "incident"), target=0, baseline=2, polarity="lower",
             sim=("count", 0.5)),
        leaf("DIS.4.3", "群众安全感", "Public sense of safety", "分", 6, "annual", ratio(),
             target=96, baseline=95, sim=("normal", 95, 0.02)),
        leaf("DIS.4.4", "改革创新获国家级或省级试点示范", "National or provincial pilots", "项",
             0, "annual", bonus(1, 3), description="每项加 1 分，最多加 3 分"),
        leaf("DIS.4.5", "重大安全生产事故", "Major work-safety accidents", "起", 0, "annual",
             veto("发生重大安全生产事故，一票否决"), polarity="lower"),
    ),
]

# fmt: on

# category → (system name, description, tree)
SYSTEMS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    "economic": (
        "2026年度黑河市经济发展类部门绩效考核指标体系",
        "适用于发改、财政、商务、工信等经济发展类市直部门。",
        ECONOMIC,
    ),
    "social_services": (
        "2026年度黑河市社会事业类部门绩效考核指标体系",
        "适用于教育、卫健、人社、民政等社会事业类市直部门。",
        SOCIAL_SERVICES,
    ),
    "law_enforcement": (
        "2026年度黑河市执法监管类部门绩效考核指标体系",
        "适用于公安、司法、市场监管、生态环境、应急管理等执法监管类部门。",
        LAW_ENFORCEMENT,
    ),
    "districts": (
        "2026年度黑河市县（市、区）政府绩效考核指标体系",
        "适用于爱辉区、北安市、五大连池市、嫩江市、逊克县、孙吴县人民政府。",
        DISTRICTS,
    ),
}


# --- the evaluation cycles --------------------------------------------------------------------

# One annual cycle per category; this one is finalized at once (no appeal window), the
# others stay preliminary with the appeal window open.
FINALIZED_CATEGORY = "social_services"
APPEAL_DAYS = 7
CYCLE_NAMES = {
    "economic": "2026年度经济发展类部门绩效综合考评",
    "social_services": "2026年度社会事业类部门绩效综合考评",
    "law_enforcement": "2026年度执法监管类部门绩效综合考评",
    "districts": "2026年度县（市、区）政府绩效综合考评",
}
# The city's grades (优秀, 良好, 合格, 不合格), and at most about a fifth of each category
# excellent (Hangzhou 2020: 18 of 78 units).
GRADE_BANDS = [
    {"grade": "excellent", "min": 90},
    {"grade": "good", "min": 85},
    {"grade": "pass", "min": 80},
    {"grade": "fail", "min": None},
]
EXCELLENT_QUOTA = {"economic": 3, "social_services": 2, "law_enforcement": 1, "districts": 1}


def dimension(code: str, name_zh: str, name_en: str, weight: float) -> dict[str, Any]:
    return {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "max_score": 100,
        "weight": weight,
    }


PERFORMANCE = ("performance", "工作实绩", "Work performance")
SERVICE = ("service", "服务质量", "Quality of service")
LAW = ("rule_of_law", "依法行政", "Law-based administration")
INTEGRITY = ("integrity", "廉洁勤政", "Integrity and diligence")
INNOVATION = ("innovation", "创新创优", "Innovation")
PROPOSALS = ("proposals", "建议提案办理", "Handling of deputies' proposals")
EFFICIENCY = ("efficiency", "办事效率", "Efficiency")

# The evaluator groups of every cycle, weights summing to 100; the scorecard groups with
# their dimensions (weighted within the group), the citizen group answers the questionnaire.
GROUPS: list[dict[str, Any]] = [
    {"kind": "objective", "code": "objective", "name": "目标考核", "weight": 50},
    {
        "kind": "leadership",
        "code": "leadership",
        "name": "领导评价",
        "weight": 15,
        "min_sample": 3,
        "dimensions": [
            dimension(*PERFORMANCE, 40),
            dimension(*LAW, 20),
            dimension(*INTEGRITY, 20),
            dimension(*INNOVATION, 20),
        ],
    },
    {
        "kind": "expert",
        "code": "experts",
        "name": "第三方专家评价",
        "weight": 10,
        "min_sample": 2,
        "dimensions": [dimension(*PERFORMANCE, 40), dimension(*SERVICE, 30), dimension(*LAW, 30)],
    },
    {
        "kind": "deputy",
        "code": "deputies",
        "name": "人大代表和政协委员评价",
        "weight": 5,
        "min_sample": 2,
        "dimensions": [
            dimension(*PERFORMANCE, 30),
            dimension(*SERVICE, 30),
            dimension(*PROPOSALS, 20),
            dimension(*INTEGRITY, 20),
        ],
    },
    {
        "kind": "enterprise",
        "code": "enterprises",
        "name": "企业评价",
        "weight": 5,
        "min_sample": 2,
        "dimensions": [
            dimension(*SERVICE, 40),
            dimension(*EFFICIENCY, 30),
            dimension(*INTEGRITY, 30),
        ],
    },
    {
        "kind": "citizen",
        "code": "citizens",
        "name": "群众满意度评价",
        "weight": 15,
        "min_sample": 30,
    },
]

# The named evaluators of each scorecard group: (token subject, name). Every leader rates
# every department; of the other groups, `PER_DEPARTMENT` evaluators rate each department
# in turn. (Fictional people and firms.)
EVALUATORS: dict[str, list[tuple[str, str]]] = {
    "leadership": [
        ("hh-leader-01", "王立新（市长）"),
        ("hh-leader-02", "刘振华（常务副市长）"),
        ("hh-leader-03", "陈晓梅（副市长）"),
    ],
    "experts": [
        ("hh-expert-01", "赵明远（黑河学院公共管理学教授）"),
        ("hh-expert-02", "孙丽（省社会科学院研究员）"),
        ("hh-expert-03", "周建国（注册会计师）"),
        ("hh-expert-04", "钱卫东（律师）"),
    ],
    "deputies": [
        ("hh-deputy-01", "李桂芝（市人大代表）"),
        ("hh-deputy-02", "张海涛（市人大代表）"),
        ("hh-deputy-03", "吴静（市政协委员）"),
        ("hh-deputy-04", "郑永福（市政协委员）"),
    ],
    "enterprises": [
        ("hh-enterprise-01", "马骏（黑河北疆进出口贸易有限公司）"),
        ("hh-enterprise-02", "林芳（黑河兴边大豆食品有限公司）"),
        ("hh-enterprise-03", "高峰（五大连池矿泉旅游开发有限公司）"),
    ],
}
PER_DEPARTMENT = 2

# --- the citizen questionnaire --------------------------------------------------------------

QUESTIONNAIRE: dict[str, Any] = {
    "code": "citizen-satisfaction",
    "title_zh": "2026年度黑河市群众满意度调查",
    "title_en": "Heihe citizen satisfaction survey 2026",
    "scale_min": 1,
    "scale_max": 5,
    "top_box": 3,  # 满意、比较满意、基本满意: Hangzhou's satisfaction rate
    "allow_dont_know": True,
    "free_text_max": 300,
    "dimensions": [
        {"code": "attitude", "name_zh": "服务态度", "name_en": "Attitude"},
        {"code": "efficiency", "name_zh": "办事效率", "name_en": "Efficiency"},
        {"code": "openness", "name_zh": "公开透明", "name_en": "Openness"},
    ],
    "items": [
        {"code": "Q1", "dimension": "attitude", "text_zh": "工作人员是否热情、耐心地接待您？"},
        {"code": "Q2", "dimension": "attitude", "text_zh": "工作人员是否清楚地解答了您的问题？"},
        {"code": "Q3", "dimension": "efficiency", "text_zh": "您办理的事项是否在承诺时限内办结？"},
        {"code": "Q4", "dimension": "efficiency", "text_zh": "办事是否做到了“最多跑一次”？"},
        {"code": "Q5", "dimension": "openness", "text_zh": "办事指南和收费标准是否公开、清楚？"},
        {
            "code": "Q6",
            "dimension": "openness",
            "text_zh": "该部门是否及时公开工作信息、回应群众关切？",
        },
    ],
}

# How citizens see departments, on the 1–5 scale around the city's mean (the rest draw a
# small random tendency), and how often citizens meet each category.
TENDENCIES = {
    "HH-BEB": 0.55,
    "HH-EDU": 0.5,
    "HH-DAT": 0.35,
    "HH-PSB": 0.3,
    "HH-AIH": 0.25,
    "HH-HRS": -0.6,
    "HH-UMB": -0.55,
    "HH-HUD": -0.45,
    "HH-PET": -0.35,
    "HH-XKX": -0.3,
}
VISIBILITY = {"social_services": 3.0, "districts": 2.5, "law_enforcement": 2.0, "economic": 1.0}

COMMENTS = {
    "good": [
        "窗口工作人员态度很好，一次就办完了。",
        "网上就能办，不用来回跑，点赞。",
        "政策讲得很清楚，希望继续保持。",
        "办事效率比去年提高了不少。",
    ],
    "fair": [
        "整体还可以，就是排队时间有点长。",
        "办事指南写得不够清楚，希望再细化。",
        "希望节假日也能有人值班。",
    ],
    "poor": [
        "打了好几次电话都没人接，问题一直没解决。",
        "同一份材料要求提交好几次，太麻烦了。",
        "工作人员推诿，让我找别的部门。",
        "承诺的时限过了还没有答复。",
    ],
}
CALL_BACK = "，麻烦尽快回电："  # followed by a phone number (scrubbed before storage)
