"""docs/api.md lists every route and every /metrics family tocsind has,
and every route it describes exists."""
import os
import re

# "GET /api/v1/checks/CHECK", "`POST /api/v1/incidents/ID/ack`", "GET /",
# "GET or POST /api/v1/push/SECRET", "GET, HEAD /x"
METHOD = r"(?:GET|POST|DELETE|HEAD)"
DOC_ROUTE = re.compile(r"\b(%s(?:(?:, | or | and |/)%s)*) (/[^\s`,;)|\]]*)"
                       % (METHOD, METHOD))


def reference(env):
    path = os.path.join(env.srcdir, "docs", "api.md")
    assert os.path.exists(path), "no API reference at %s" % path
    with open(path, encoding="utf-8") as f:
        return f.read()


def documented(text, lines=None):
    """(method, path) pairs named in the text, query strings cut off."""
    out = set()
    for line in (lines if lines is not None else text.splitlines()):
        for ms, p in DOC_ROUTE.findall(line):
            for m in re.findall(METHOD, ms):
                if m != "HEAD":         # HEAD comes with every GET
                    out.add((m, p.split("?")[0].split("[")[0]))
    return out


def covers(route, docs):
    """A route is listed: an exact path by itself; a prefix route
    ("/api/v1/checks/") by an entry under it (".../CHECK/run")."""
    method, path = route
    if path.endswith("/") and path != "/":
        return any(m == method and p.startswith(path) and len(p) > len(path)
                   for m, p in docs)
    return (method, path) in docs


def test_every_route_and_series_is_in_the_reference(env):
    text = reference(env)
    docs = documented(text)
    d = env.daemon('dummy "x" { group = "g" }\n'
                   'slo "s" { group = "g"  objective = 99 }\n')
    d.start()
    routes = [(r["method"], r["path"]) for r in
              d.get("/api/v1/routes")["routes"]]
    assert len(routes) > 10, routes
    missing = [r for r in routes if not covers(r, docs)]
    assert not missing, ("routes tocsind serves that docs/api.md does not "
                         "list: %s" % missing)
    # every "### METHOD PATH" heading names a route that exists
    heads = documented(text, [l for l in text.splitlines()
                              if l.startswith("### ")])
    assert heads, "no route headings in docs/api.md"
    for m, p in heads:
        ok = any(rm == m and (rp == p or (rp.endswith("/") and rp != "/" and
                                          p.startswith(rp)))
                 for rm, rp in routes)
        assert ok, "docs/api.md describes %s %s, which tocsind lacks" % (m, p)
    # every /metrics family
    _, _, body = d.get_raw("/metrics")
    families = re.findall(r"^# TYPE (\S+) ", body.decode(), re.M)
    assert len(families) > 10, families
    missing = [f for f in families if "`%s`" % f not in text]
    assert not missing, ("/metrics families docs/api.md does not list: "
                         "%s" % missing)
    d.stop()


def test_docs_point_to_the_reference_not_to_a_missing_design_doc(env):
    """README, tocsind(8), tocsin.conf.example: the reference is in the
    repository; DESIGN.md is not."""
    for rel in ("README.md", "man/tocsind.8", "conf/tocsin.conf.example"):
        with open(os.path.join(env.srcdir, rel), encoding="utf-8") as f:
            text = f.read()
        assert "docs/api.md" in text, rel
        for line in text.splitlines():
            assert "DESIGN.md" not in line, (rel, line)
