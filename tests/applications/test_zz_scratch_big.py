import time, sys
sys.path.insert(0, "/work/main/tests/applications")
from test_pdf import *  # noqa
from test_pdf import world, no_email  # noqa

def test_big(world):
    from grants.applications import services as s
    a = world["application"]
    lead, partner = world["lead"], world["partner"]
    para = ("Арал өңірінде қалдықтарды сұрыптау және жиһаз. " * 8 + "\n")
    big = (para * 100)[:20000]
    data = {"problem": big, "objectives": big, "activities": big, "summary": big[:5000],
            "budget_lines": [{"organization_id": lead.id, "category": "staff", "description": "Үйлестіруші жалақысы " * 10, "quantity": "1", "unit_cost": "1000"} for i in range(200)],
            "indicators": [{"name": "Оқытылған тұрғындар", "unit": "адам", "baseline": "0", "target": "120"}] * 200,
            "workplan": [{"activity": "Семинар " * 20, "start_month": 1, "end_month": 3}] * 200}
    s.save(world["lead_user"], a, data, version=a.version)
    t = time.perf_counter(); d = pdf.application_pdf(a, "kk"); print("BIG", round(time.perf_counter()-t, 2), "s", len(read(d).pages), "pages", len(d)//1024, "KB")
