"""The README's GraphQL example runs as shown."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/></Choices></View>'


def test_readme_graphql_example_answers(actor):
    query = re.search(r"```graphql\n(.*?)```", README.read_text(), re.S).group(1)
    c = actor.client
    project = c.post("/api/projects/", json={"title": "readme", "label_config": CONFIG}).json()
    task_ids = c.post(f"/api/projects/{project['id']}/import?return_task_ids=true", json=[{"text": "x"}, {"text": "y"}]).json()["task_ids"]
    c.post(f"/api/tasks/{task_ids[0]}/annotations/", json={"result": []})
    body = c.post("/graphql", json={"query": query}).json()
    assert "errors" not in body, body
    node = body["data"]["projects"]["edges"][0]["node"]
    assert node["taskNumber"] == 2
    tasks = node["tasks"]
    assert tasks["totalCount"] == 1
    assert tasks["edges"][0]["node"]["annotations"][0]["completedBy"]["email"] == actor.email
