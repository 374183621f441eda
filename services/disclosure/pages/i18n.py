"""The pages' words in zh-CN and en."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

WORDS: dict[str, tuple[str, str]] = {
    "site": ("政府绩效信息公开", "Government performance disclosure"),
    "skip": ("跳到正文", "Skip to content"),
    "nav": ("主导航", "Main navigation"),
    "home": ("首页", "Home"),
    "comparison": ("横向比较", "Comparison"),
    "ledger": ("公开记录", "Ledger"),
    "transparency": ("公开指数", "Transparency"),
    "language": ("English", "中文"),
    "latest_results": ("最新考评结果", "Latest results"),
    "latest_publications": ("最新公开", "Latest publications"),
    "no_results": ("尚未公开考评结果。", "No results have been published yet."),
    "ranking": ("排名", "Ranking"),
    "rank": ("名次", "Rank"),
    "department": ("部门", "Department"),
    "total": ("总分", "Total"),
    "grade": ("等次", "Grade"),
    "vetoed": ("一票否决", "Vetoed"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "period": ("年度", "Period"),
    "category": ("类别", "Category"),
    "status": ("状态", "Status"),
    "published_at": ("公开时间", "Published"),
    "version": ("版本", "Version"),
    "versions": ("版本历史", "Version history"),
    "supersedes": ("取代第{n}版", "supersedes version {n}"),
    "retracted": ("已撤回", "Retracted"),
    "reason": ("原因", "Reason"),
    "cycle": ("考评周期", "Cycle"),
    "ranking_of": ("{name}：{category}排名", "{name}: ranking, {category}"),
    "chart_table": ("图表数据", "Chart data"),
    "history": ("历年得分", "Score history"),
    "history_of": ("{name}历年总分", "{name}: total score by period"),
    "breakdown": ("最新得分构成", "Latest breakdown"),
    "groups": ("评价主体得分", "Evaluator groups"),
    "group": ("评价主体", "Group"),
    "weight": ("权重", "Weight"),
    "score": ("得分", "Score"),
    "points": ("折合分", "Points"),
    "indicators": ("指标得分", "Indicators"),
    "indicator": ("指标", "Indicator"),
    "value": ("实际值", "Value"),
    "achievement": ("完成率", "Achievement"),
    "rectification": ("整改进展", "Rectification progress"),
    "no_rectification": ("尚未公开整改进展。", "No rectification progress published yet."),
    "closure_rate": ("整改完成率", "Closure rate"),
    "task": ("整改任务", "Task"),
    "progress": ("进度", "Progress"),
    "deadline": ("期限", "Deadline"),
    "escalation": ("督办级别", "Escalation"),
    "compare_title": ("同类指标横向比较", "Compare an indicator across jurisdictions"),
    "compare_help": (
        "输入指标代码，比较各地区已公开的考评数据。",
        "Enter an indicator code to compare the published results of every jurisdiction.",
    ),
    "indicator_code": ("指标代码", "Indicator code"),
    "show": ("比较", "Compare"),
    "jurisdiction": ("地区", "Jurisdiction"),
    "jurisdictions": ("各地区", "Jurisdictions"),
    "mean_value": ("平均值", "Mean value"),
    "mean_points": ("平均折合分", "Mean points"),
    "departments": ("部门数", "Departments"),
    "nothing_to_compare": ("没有可比较的已公开数据。", "No published data to compare."),
    "points_of": ("{code}各部门折合分", "{code}: points by department"),
    "ledger_title": ("公开记录（哈希链）", "Publication ledger (hash chain)"),
    "ledger_valid": (
        "校验通过：全部 {n} 条记录完整，未被改动。",
        "Verified: all {n} entries are intact.",
    ),
    "ledger_invalid": (
        "校验失败：第 {seq} 条记录起不一致（{reason}）。",
        "Verification failed at entry {seq} ({reason}).",
    ),
    "seq": ("序号", "Seq"),
    "action": ("操作", "Action"),
    "recorded_at": ("记录时间", "Recorded"),
    "hash": ("哈希", "Hash"),
    "published": ("公开", "published"),
    "next_page": ("下一页", "Next page"),
    "transparency_title": ("信息公开指数", "Transparency index"),
    "transparency_help": (
        "每个考评周期须公开的事项、实际公开时间与逾期天数。",
        "What each cycle must disclose, when it was disclosed and how late.",
    ),
    "index": ("及时公开率", "On-time rate"),
    "item": ("事项", "Item"),
    "due_at": ("应公开时间", "Due"),
    "days_late": ("逾期天数", "Days late"),
    "state": ("状态", "State"),
    "plan": ("指标体系", "Indicator plan"),
    "preliminary_results": ("初步结果", "Preliminary results"),
    "final_results": ("最终结果", "Final results"),
    "on_time": ("按时", "on time"),
    "late": ("逾期公开", "late"),
    "overdue": ("逾期未公开", "overdue"),
    "not_due": ("未到期", "not due"),
    "no_cycles": ("暂无考评周期。", "No cycles yet."),
    "feed": ("订阅（Atom）", "Feed (Atom)"),
    "catalog": ("开放数据目录", "Open data catalog"),
    "export": ("下载数据（CSV）", "Download (CSV)"),
    "not_found": ("未找到", "Not found"),
}


def translator(lang: Lang):
    index = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        words = WORDS.get(key)
        text = words[index] if words else key
        return text.format(**values) if values else text

    return t
