"""plugin.yaml against Rundeck's rules, the names users store, the jar."""

from __future__ import annotations

import copy
import io
import zipfile

import pytest

import build

# Names stored in users' job definitions: a contract, never renamed.
CONTRACT = {
    "pagerduty-send-event": [
        "integration_key", "action", "dedupe_key", "severity", "summary",
        "source", "component", "group", "class", "images", "custom_details",
        "region", "events_url", "timeout", "interpreter",
    ],
    "pagerduty-escalate-incident": [
        "api_key", "email", "incident_id", "incident_key",
        "escalation_level", "region", "api_url", "timeout", "interpreter",
    ],
    "pagerduty-run-response-play": [
        "api_key", "email", "incident_id", "incident_key",
        "response_play_id", "region", "api_url", "timeout", "interpreter",
    ],
    "pagerduty-start-incident-workflow": [
        "api_key", "incident_id", "incident_key", "workflow_id", "region",
        "api_url", "timeout", "interpreter",
    ],
}


@pytest.fixture(scope="module")
def meta():
    return build.load_meta()


def test_plugin_yaml_passes_rundecks_rules(meta):
    assert build.check_meta(meta) == []


def test_plugin_yaml_keeps_every_landed_name(meta):
    declared = {
        p["name"]: [c["name"] for c in p.get("config", [])]
        for p in meta["providers"]
    }
    for provider, names in CONTRACT.items():
        assert provider in declared
        assert set(names) <= set(declared[provider])


def test_plugin_yaml_send_event_title_and_defaults(meta):
    [send] = [p for p in meta["providers"]
              if p["name"] == "pagerduty-send-event"]
    assert send["title"] == "PagerDuty / Send Event"
    props = {c["name"]: c for c in send["config"]}
    assert props["integration_key"]["required"] == "true"
    assert props["integration_key"]["renderingOptions"]["displayType"] == (
        "PASSWORD")
    assert props["action"]["default"] == "auto"
    assert props["severity"]["default"] == "auto"
    assert props["region"]["default"] == "us"


def _broken(meta, change):
    bad = copy.deepcopy(meta)
    change(bad)
    return build.check_meta(bad)


def _prop(meta):
    return meta["providers"][0]["config"][0]


@pytest.mark.parametrize("change,problem", [
    (lambda m: m.update(pluginDate="x"), "top-level key 'pluginDate'"),
    (lambda m: m.update(rundeckPluginVersion="1.10"), "rundeckPluginVersion"),
    (lambda m: m.pop("rundeckCompatibilityVersion"),
     "rundeckCompatibilityVersion"),
    (lambda m: m.update(targetHostCompatibility="linux"),
     "targetHostCompatibility"),
    (lambda m: _prop(m).update(type="Text"), "is not a Rundeck type"),
    (lambda m: _prop(m).update(scope="Job"), "is not a Rundeck scope"),
    (lambda m: _prop(m).update(required="yes"), "required must be"),
    (lambda m: m["providers"][0].update({"script-file": "nope.py"}),
     "script-file"),
    (lambda m: m["providers"][0].update({"plugin-type": "java"}),
     "plugin-type"),
    (lambda m: m["providers"][0]["config"].append(
        {"name": "integration-key", "type": "String"}),
     "two properties share RD_CONFIG_INTEGRATION_KEY"),
])
def test_check_meta_rejects_what_rundeck_rejects(meta, change, problem):
    assert any(problem in p for p in _broken(meta, change))


def test_jar_manifest_declares_the_loader_classes(jar):
    with zipfile.ZipFile(jar) as zf:
        names = zf.namelist()
        head = zf.read("META-INF/MANIFEST.MF").decode()
    assert names[:2] == ["META-INF/", "META-INF/MANIFEST.MF"]
    assert "Rundeck-Plugin-Archive: true" in head
    classes = "".join(head.replace("\r\n ", "").split("\r\n"))
    for name in ("SendEvent", "EscalateIncident", "RunResponsePlay",
                 "StartIncidentWorkflow"):
        assert "pdrundeck.loader.%sNotification" % name in classes
    assert "pdrundeck/loader/SendEventNotification.class" in names


def test_jar_carries_pure_python_only_and_lists_its_files(jar):
    with zipfile.ZipFile(jar) as zf:
        names = set(zf.namelist())
        listing = zf.read("pagerduty-notify/files.txt").decode().splitlines()
    assert listing[0].startswith("id=0.1.0-")
    contents = {n[len("pagerduty-notify/contents/"):] for n in names
                if n.startswith("pagerduty-notify/contents/")}
    assert set(listing[1:]) == contents
    assert "vendor/requests/__init__.py" in contents
    assert "vendor/markupsafe/_native.py" in contents
    assert not [n for n in names if n.endswith((".so", ".pyd", ".pyc"))]


def test_jar_descriptor_matches_plugin_yaml(jar, meta):
    with zipfile.ZipFile(jar) as zf:
        text = zf.read("pagerduty-notify/providers.properties").decode()
    assert text == build.descriptor(meta)
    props = dict(line.split("=", 1) for line in text.splitlines())
    key = "provider.pagerduty-send-event."
    assert props[key + "title"] == "PagerDuty / Send Event"
    assert props[key + "property.severity.values"] == "5"
    assert props[key + "property.severity.values.4"] == "info"


def test_build_same_sources_give_the_same_bytes(jar, meta):
    entries = build.jar_entries(meta, build.vendor(), build.compile_loader())
    again = io.BytesIO()
    build.write_jar(again, build.manifest(meta), entries)
    assert again.getvalue() == jar.read_bytes()
    assert [p.name for p in jar.parent.iterdir()] == [build.jar_name(meta)]
