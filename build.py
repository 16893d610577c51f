#!/usr/bin/env python3
"""Builds the plugin: one jar in dist/ that Rundeck loads from libext.

Steps: check plugin.yaml against Rundeck's rules, bundle the pure-Python
dependencies, compile the Java loader, write a reproducible jar. The same
sources give the same bytes. Usage: ``python3 build.py [--check]``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import BinaryIO, Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build"
DIST = ROOT / "dist"
PREFIX = "pagerduty-notify"
JAVA_PACKAGE = "pdrundeck.loader"

# The provider's loader class, by provider name (loader/src/main/java).
LOADER_CLASSES = {
    "pagerduty-send-event": "SendEventNotification",
    "pagerduty-escalate-incident": "EscalateIncidentNotification",
    "pagerduty-run-response-play": "RunResponsePlayNotification",
    "pagerduty-start-incident-workflow": "StartIncidentWorkflowNotification",
}

# Rundeck's rules for plugin.yaml (rundeck.md §3).
TOP_LEVEL_KEYS = {
    "name", "version", "rundeckPluginVersion", "author", "date", "url",
    "providers", "resourcesList", "resourcesDir", "description",
    "rundeckCompatibilityVersion", "license", "tags",
    "thirdPartyDependencies", "sourceLink", "docsLink",
    "targetHostCompatibility", "display", "id",
}
PLUGIN_VERSIONS = {"1.0", "1.1", "1.2", "2.0"}
PROPERTY_TYPES = {
    "String", "Boolean", "Integer", "Long", "Select", "FreeSelect",
    "Options", "AutogenInstanceId",
}
SCOPES = {
    "Framework", "ProjectOnly", "Project", "InstanceOnly", "Instance",
    "Unspecified", "FeatureFlag",
}
COMPAT_VERSION = re.compile(r"\d+(\.(\d+|x|\+)(\.(\d+|x|\+))?)?\+?")

# Zip entries get this fixed time so the jar's bytes depend on content only.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def load_meta(path: Path = ROOT / "plugin.yaml") -> dict:
    """plugin.yaml with every scalar as raw text, as Rundeck reads it."""
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=yaml.BaseLoader)


def check_meta(meta: dict) -> List[str]:
    """Rundeck's plugin.yaml rules; an empty list means it loads."""
    problems = []
    for key in sorted(set(meta) - TOP_LEVEL_KEYS):
        problems.append("top-level key %r is not one Rundeck accepts" % key)
    for key in ("name", "version", "rundeckPluginVersion", "providers"):
        if not meta.get(key):
            problems.append("%s is required" % key)
    if meta.get("rundeckPluginVersion") not in PLUGIN_VERSIONS:
        problems.append("rundeckPluginVersion must be one of 1.0 to 2.0")
    if meta.get("rundeckPluginVersion") == "2.0":
        if meta.get("targetHostCompatibility") not in ("all", "unix", "windows"):
            problems.append("targetHostCompatibility must be all|unix|windows")
        if not COMPAT_VERSION.fullmatch(meta.get("rundeckCompatibilityVersion", "")):
            problems.append("rundeckCompatibilityVersion is missing or bad")
    names = [p.get("name") for p in meta.get("providers") or []]
    if len(set(names)) != len(names):
        problems.append("provider names must be unique")
    for provider in meta.get("providers") or []:
        problems += check_provider(provider)
    return problems


def check_provider(provider: dict) -> List[str]:
    """Rules for one script provider and its config properties."""
    name = provider.get("name") or "?"
    problems = []
    if provider.get("plugin-type") != "script":
        problems.append("%s: plugin-type must be script" % name)
    for key in ("name", "service", "script-file", "title"):
        if not provider.get(key):
            problems.append("%s: %s is required" % (name, key))
    script = ROOT / "contents" / provider.get("script-file", "")
    if not script.is_file():
        problems.append("%s: script-file %s not found" % (name, script))
    if name not in LOADER_CLASSES:
        problems.append("%s: no loader class for this provider" % name)
    env_names = set()
    for prop in provider.get("config") or []:
        problems += ["%s: %s" % (name, p) for p in check_property(prop)]
        env_name = re.sub(r"[^A-Za-z0-9_]", "_", prop.get("name", "")).upper()
        if env_name in env_names:
            problems.append("%s: two properties share RD_CONFIG_%s"
                            % (name, env_name))
        env_names.add(env_name)
    return problems


def check_property(prop: dict) -> List[str]:
    """Rules for one config entry (Property.Type, PropertyScope, ...)."""
    name = prop.get("name")
    problems = []
    if not name:
        problems.append("a property has no name")
    if prop.get("type") not in PROPERTY_TYPES:
        problems.append("%s: type %r is not a Rundeck type"
                        % (name, prop.get("type")))
    if "scope" in prop and prop["scope"] not in SCOPES:
        problems.append("%s: scope %r is not a Rundeck scope"
                        % (name, prop["scope"]))
    if prop.get("required", "false") not in ("true", "false"):
        problems.append("%s: required must be true or false" % name)
    values = _values(prop)
    if prop.get("type") == "Select" and prop.get("default") not in values:
        problems.append("%s: default is not among its values" % name)
    if not isinstance(prop.get("renderingOptions", {}), dict):
        problems.append("%s: renderingOptions must be a map" % name)
    return problems


def _values(prop: dict) -> List[str]:
    values = prop.get("values") or []
    if isinstance(values, str):
        values = [v.strip() for v in values.split(",")]
    return [v for v in values if v]


def descriptor(meta: dict) -> str:
    """plugin.yaml as the java.util.Properties the loader reads."""
    lines = ["plugin.name", meta["name"], "plugin.version", meta["version"]]
    providers = meta["providers"]
    lines += ["providers", ",".join(p["name"] for p in providers)]
    for provider in providers:
        key = "provider.%s." % provider["name"]
        for field in ("title", "description", "script-interpreter",
                      "script-file", "script-args"):
            if provider.get(field):
                lines += [key + field, provider[field]]
        props = provider.get("config") or []
        lines += [key + "properties", ",".join(p["name"] for p in props)]
        for prop in props:
            lines += _property_lines(key + "property.%s." % prop["name"], prop)
    pairs = zip(lines[::2], lines[1::2])
    return "".join("%s=%s\n" % (k, _escape(v)) for k, v in pairs)


def _property_lines(key: str, prop: dict) -> List[str]:
    lines = []
    for field in ("type", "title", "description", "default", "scope"):
        if prop.get(field):
            lines += [key + field, prop[field]]
    lines += [key + "required", prop.get("required", "false")]
    values = _values(prop)
    if values:
        lines += [key + "values", str(len(values))]
        for index, value in enumerate(values):
            lines += [key + "values.%d" % index, value]
    for value, label in sorted((prop.get("labels") or {}).items()):
        lines += [key + "labels." + value, label]
    for option, value in sorted((prop.get("renderingOptions") or {}).items()):
        lines += [key + "renderingOptions." + option, value]
    return lines


def _escape(value: str) -> str:
    value = value.replace("\\", "\\\\").replace("\n", "\\n")
    return "\\" + value if value.startswith(" ") else value


def vendor() -> Path:
    """The pinned runtime dependencies as a pure-Python tree, cached."""
    pins = (ROOT / "requirements-vendor.txt").read_bytes()
    target = BUILD / ("vendor-" + hashlib.sha256(pins).hexdigest()[:12])
    if (target / ".complete").exists():
        return target
    downloads = BUILD / "downloads"
    _progress("downloading the bundled Python dependencies")
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
          "-d", str(downloads), "-r", "requirements-vendor.txt",
          "--no-binary", "MarkupSafe", "--only-binary", "requests,urllib3,"
          "idna,charset-normalizer,certifi,Jinja2"])
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for pin in _pins():
        _unpack(_download_for(downloads, pin), target)
    (target / ".complete").write_text("ok\n")
    return target


def _pins() -> List[str]:
    text = (ROOT / "requirements-vendor.txt").read_text()
    return [line.split("#")[0].strip() for line in text.splitlines()
            if line.split("#")[0].strip()]


def _download_for(downloads: Path, pin: str) -> Path:
    stem = _normal(pin.replace("==", "-")) + "_"
    for path in sorted(downloads.iterdir()):
        if _normal(path.name).startswith(stem):
            return path
    raise SystemExit("build: no download found for %s" % pin)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _unpack(archive: Path, target: Path) -> None:
    """Copy a package's .py files and licence; skip compiled modules."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if _wanted(name):
                    _write(target / name, zf.read(name))
        return
    with tarfile.open(archive) as tf:  # an sdist: take src/<package>/
        for member in tf.getmembers():
            parts = member.name.split("/")
            if member.isfile() and len(parts) > 3 and parts[1] == "src":
                rel = "/".join(parts[2:])
                if _wanted(rel):
                    _write(target / rel, tf.extractfile(member).read())
            elif member.isfile() and parts[-1].startswith("LICENSE"):
                _write(target / (parts[0] + ".LICENSE"),
                       tf.extractfile(member).read())


def _wanted(name: str) -> bool:
    if name.endswith("/"):
        return False
    if name.endswith((".so", ".pyd", ".c", ".pyc", "RECORD", "WHEEL")):
        return False
    if ".egg-info/" in name:
        return False
    if ".dist-info/" in name:
        return "LICENSE" in name.upper() or name.endswith("METADATA")
    return True


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def compile_loader() -> Path:
    """javac the loader against Rundeck's published API (not shipped)."""
    classes = BUILD / "classes"
    classpath = BUILD / "loader-classpath.txt"
    if not classpath.exists():
        _progress("resolving Rundeck's API from Maven Central")
        _run(["mvn", "-q", "-f", "loader/pom.xml", "dependency:build-classpath",
              "-Dmdep.outputFile=" + str(classpath)])
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    sources = sorted(str(p) for p in (ROOT / "loader/src/main/java").rglob("*.java"))
    _progress("compiling the loader (%d Java files)" % len(sources))
    _run(["javac", "--release", "11", "-nowarn", "-encoding", "UTF-8",
          "-cp", classpath.read_text().strip(), "-d", str(classes)] + sources)
    return classes


def jar_entries(meta: dict, vendor_dir: Path, classes: Path) -> Dict[str, bytes]:
    """Every file of the jar but the manifest, by name."""
    entries: Dict[str, bytes] = {}
    for path in sorted(classes.rglob("*.class")):
        entries[path.relative_to(classes).as_posix()] = path.read_bytes()
    tree = _python_tree(vendor_dir)
    content_id = meta["version"] + "-" + _digest(tree)
    listing = ["id=" + content_id] + sorted(tree)
    entries[PREFIX + "/files.txt"] = ("\n".join(listing) + "\n").encode()
    entries[PREFIX + "/plugin.yaml"] = (ROOT / "plugin.yaml").read_bytes()
    entries["META-INF/LICENSE"] = (ROOT / "LICENSE").read_bytes()
    entries[PREFIX + "/providers.properties"] = descriptor(meta).encode()
    for rel, data in tree.items():
        entries[PREFIX + "/contents/" + rel] = data
    return entries


def _python_tree(vendor_dir: Path) -> Dict[str, bytes]:
    """Our .py files (nothing stray from the work tree) and the vendor tree."""
    tree = {}
    for path in sorted((ROOT / "contents").rglob("*.py")):
        if _shipped(path):
            tree[path.relative_to(ROOT / "contents").as_posix()] = path.read_bytes()
    for path in sorted(vendor_dir.rglob("*")):
        if path.is_file() and _shipped(path):
            tree["vendor/" + path.relative_to(vendor_dir).as_posix()] = (
                path.read_bytes())
    return tree


def _shipped(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.name != ".complete"


def _digest(tree: Dict[str, bytes]) -> str:
    sha = hashlib.sha256()
    for rel in sorted(tree):
        sha.update(rel.encode() + b"\0" + tree[rel] + b"\0")
    return sha.hexdigest()[:16]


def manifest(meta: dict) -> bytes:
    """The jar manifest Rundeck's jar-plugin loader reads."""
    classes = ",".join(
        JAVA_PACKAGE + "." + LOADER_CLASSES[p["name"]] for p in meta["providers"]
    )
    attributes = [
        ("Manifest-Version", "1.0"),
        ("Rundeck-Plugin-Archive", "true"),
        ("Rundeck-Plugin-Version", "1.2"),
        ("Rundeck-Plugin-File-Version", meta["version"]),
        ("Rundeck-Plugin-Name", meta["name"]),
        ("Rundeck-Plugin-Description", " ".join(meta["description"].split())),
        ("Rundeck-Plugin-Author", meta.get("author", "")),
        ("Rundeck-Plugin-Classnames", classes),
    ]
    text = "".join(_manifest_line(k, v) for k, v in attributes if v)
    return (text + "\r\n").encode("utf-8")


def _manifest_line(key: str, value: str) -> str:
    raw = ("%s: %s" % (key, value)).encode("utf-8")
    chunks = [raw[:72]] + [b" " + raw[i:i + 71] for i in range(72, len(raw), 71)]
    return "".join(c.decode("utf-8", "ignore") + "\r\n" for c in chunks)


def write_jar(out: BinaryIO, head: bytes, entries: Dict[str, bytes]) -> None:
    """A zip whose bytes depend only on the entries."""
    items: List[Tuple[str, bytes]] = [("META-INF/", b""),
                                      ("META-INF/MANIFEST.MF", head)]
    items += sorted(entries.items())
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def jar_name(meta: dict) -> str:
    return "%s-%s.jar" % (meta["name"], meta["version"])


def _run(cmd: List[str]) -> None:
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit("build: %s failed (exit %d)" % (cmd[0], result.returncode))


def _progress(message: str) -> None:
    print("build: " + message, file=sys.stderr, flush=True)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check plugin.yaml")
    args = parser.parse_args(argv)
    meta = load_meta()
    problems = check_meta(meta)
    for problem in problems:
        print("plugin.yaml: " + problem, file=sys.stderr)
    if problems or args.check:
        return 1 if problems else 0
    entries = jar_entries(meta, vendor(), compile_loader())
    DIST.mkdir(exist_ok=True)
    for old in DIST.iterdir():
        old.unlink()
    out = DIST / jar_name(meta)
    with out.open("wb") as fh:
        write_jar(fh, manifest(meta), entries)
    _progress("wrote %s (%d files, %d bytes)"
              % (out.relative_to(ROOT), len(entries), out.stat().st_size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
