import time
from pathlib import Path
from fastapi.testclient import TestClient
from ngap.service.app import create_app, Settings
app = create_app(Settings(warm=False))
with TestClient(app) as c:
    files = [("files", (p.name, p.read_bytes())) for p in sorted(Path("examples/vendor").iterdir()) if p.suffix in (".csv",".json",".yaml") and not p.name.startswith("SEEDED")]
    t=time.time()
    r = c.post("/validate-ruleset", files=files, data={"date":"2025-03-01"})
    print(time.time()-t, r.status_code, r.json()["counts"], r.json()["files"], str(r.json()["findings"][0])[:400])
    r = c.post("/validate-ruleset", files=[("files", ("../x.csv", b"a"))]); print(r.status_code, r.json())
    r = c.post("/validate-ruleset"); print(r.status_code, r.json())
