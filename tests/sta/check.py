"""The SensorThings API of a running sensorhub through a real client: frost-sta-client (PyPI,
the Fraunhofer client of FROST-Server). Driven by tests/demo.rs.

Usage: check.py BASE_URL
Lists Things, their Datastreams and a Datastream's Observations, compares the newest
Observations with /api/v1/stations/{id}/history, and checks that no device identity or health
appears in any answer. Prints one line per check; exits non-zero on the first failure.
"""
import json
import sys
import urllib.request

import frost_sta_client as fsc

base = sys.argv[1].rstrip("/")
passed = 0


def ok(condition, what):
    global passed
    if not condition:
        print("FAIL " + what)
        sys.exit(1)
    passed += 1
    print("ok " + what)


def get(path):
    with urllib.request.urlopen(base + path) as answer:
        return answer.read().decode("utf-8")


service = fsc.SensorThingsService(base + "/sta/v1.1")
things = list(service.things().query().list())
ok(len(things) >= 6, f"the client lists the demo's Things: {[t.id for t in things]}")
stations = json.loads(get("/api/v1/stations"))
ok(sorted(t.id for t in things) == sorted(s["id"] for s in stations),
   "the Things are exactly the public stations of /api/v1/stations")

gauge = next(t for t in things if t.id == "pegel-03")
datastreams = list(gauge.get_datastreams().query().list())
names = [d.id for d in datastreams]
ok("pegel-03~water_level" in names, f"the gauge's Datastreams: {names}")
level = next(d for d in datastreams if d.id == "pegel-03~water_level")
ok(level.unit_of_measurement.symbol == "m", "the water level's unit is m")

# Paging: the client follows @iot.nextLink through pages of 50.
observations = list(level.get_observations().query().top(50).orderby("phenomenonTime", "desc").list())
ok(len(observations) > 100, f"the client pages through {len(observations)} Observations")
times = [o.phenomenon_time_as_str() for o in observations]
ok(times == sorted(times, reverse=True), "newest first, as $orderby asked")

# The newest Observations equal the history API's raw points at the same times.
history = json.loads(get("/api/v1/stations/pegel-03/history?quantity=water_level&resolution=raw"))
by_time = {p["time"]: p["mean"] for p in history["points"]}
compared = [(o.phenomenon_time_as_str(), o.result) for o in observations[:20]]
same = [by_time.get(t) == r for t, r in compared if t in by_time]
ok(len(same) >= 10 and all(same),
   f"{len(same)} newest Observations equal /api/v1 history's values at the same times")

# Filtered by time and value, as the client writes it.
# (Bounded on both sides: the demo goes on sending while this runs.)
since = observations[10].phenomenon_time_as_str()
until = observations[0].phenomenon_time_as_str()
middle = sorted(o.result for o in observations[:10])[5]
query = f"phenomenonTime gt {since} and phenomenonTime le {until} and result ge {middle}"
chosen = list(level.get_observations().query().filter(query).list())
expected = [o for o in observations[:10] if o.result >= middle]
ok(sorted(o.id for o in chosen) == sorted(o.id for o in expected) and chosen,
   f"$filter {query}: {len(chosen)} Observations, as the values say")

# The map query: every Thing with its Locations and each Datastream's newest Observation,
# the same values as /api/v1/stations shows.
mapped = list(service.things().query().expand(
    "Locations,Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc))").list())
latest = {(s["id"], v["quantity"]): (v["value"], v["time"]) for s in stations for v in s["latest"]}
seen = {}
for thing in mapped:
    for ds in thing.datastreams or []:
        newest = list(ds.observations or [])
        if newest:
            seen[tuple(ds.id.split("~", 1))] = (newest[0].result, newest[0].phenomenon_time_as_str())
placed = {s["id"] for s in stations if s.get("lat") is not None}
ok(len(mapped) == len(things) and all(bool(list(t.locations or [])) == (t.id in placed) for t in mapped),
   f"the map query expands the Locations of the {len(placed)} Things with a position")
ok(seen == latest, f"and each Datastream's newest Observation equals /api/v1/stations ({len(seen)} values)")

# Counted and selected as asked.
raw = json.loads(get("/sta/v1.1/Datastreams('pegel-03~water_level')/Observations?$top=1&$count=true&$select=result"))
ok(raw["@iot.count"] == len(observations) and list(raw["value"][0].keys()) == ["result"],
   "$count counts them all and $select keeps only the result")

# A page cut in the store equals the same page cut from the whole history ($count makes the
# server read all of it).
# Oldest first, so that the values the demo goes on sending do not move the page.
cut = json.loads(get("/sta/v1.1/Datastreams('pegel-03~water_level')/Observations?$top=7&$skip=3"))
whole = json.loads(get("/sta/v1.1/Datastreams('pegel-03~water_level')/Observations?$top=7&$skip=3"
                       "&$count=true"))
pair = [(o["@iot.id"], o["result"]) for o in cut["value"]]
ok(len(pair) == 7 and pair == [(o["@iot.id"], o["result"]) for o in whole["value"]]
   and "@iot.nextLink" in cut and "$skip=10" in cut["@iot.nextLink"],
   "a page cut in the store equals the page cut from the whole history, with its next link")
one = json.loads(get(f"/sta/v1.1/Observations('{pair[0][0]}')"))
ok(one["result"] == pair[0][1], "one Observation by its id")

# A Datastream's phenomenon time runs from its first value to its newest.
oldest = json.loads(get("/sta/v1.1/Datastreams('pegel-03~water_level')/Observations?$top=1"))["value"][0]
newest = json.loads(get("/sta/v1.1/Datastreams('pegel-03~water_level')/Observations?$top=1"
                        "&$orderby=phenomenonTime%20desc"))["value"][0]
stream = json.loads(get("/sta/v1.1/Datastreams('pegel-03~water_level')"))
start, end = stream["phenomenonTime"].split("/")
ok(start == oldest["phenomenonTime"] and end >= newest["phenomenonTime"] and start < end,
   f"the Datastream's phenomenonTime {stream['phenomenonTime']} spans its Observations")

# Sensors are device models, never devices.
sensor = json.loads(get("/sta/v1.1/Datastreams('pegel-03~water_level')/Sensor"))
sensors = json.loads(get("/sta/v1.1/Sensors"))["value"]
ok(sensor["@iot.id"] == "cayenne-lpp" and sensor["name"] == "A Cayenne LPP device"
   and [s["@iot.id"] for s in sensors] == ["cayenne-lpp"],
   f"the demo's Sensor is its one device model: {[s['name'] for s in sensors]}")
of_sensor = json.loads(get("/sta/v1.1/Sensors('cayenne-lpp')/Datastreams?$count=true"))
ok(of_sensor["@iot.count"] == len(latest), "the model's Datastreams are all the demo's")

# A SensorThings 1.0 client reads the same entities under /sta/v1.0.
old = fsc.SensorThingsService(base + "/sta/v1.0")
old_things = list(old.things().query().list())
ok(sorted(t.id for t in old_things) == sorted(t.id for t in things)
   and json.loads(get("/sta/v1.0/Things"))["value"][0]["@iot.selfLink"].startswith(base + "/sta/v1.0/"),
   "the 1.0 client lists the same Things, linked under /sta/v1.0")

# Nothing of the devices anywhere the API answers.
answers = [get(p) for p in ["/sta/v1.1", "/sta/v1.1/Things", "/sta/v1.1/Datastreams", "/sta/v1.1/Sensors",
                            "/sta/v1.1/Locations", "/sta/v1.1/FeaturesOfInterest", "/sta/v1.1/ObservedProperties",
                            "/sta/v1.1/HistoricalLocations", "/sta/v1.0/Sensors",
                            "/sta/v1.1/Datastreams?$expand=Sensor,Thing"]]
text = "\n".join(answers).lower()
for hidden in ["dev_eui", "deveui", "rssi", "snr", "battery", "voltage", "70b3d57ed", "7276ff00"]:
    ok(hidden not in text, f"no `{hidden}` in the API")

# Read-only: a write is refused with a sentence.
request = urllib.request.Request(base + "/sta/v1.1/Things", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(request)
    ok(False, "a POST is refused")
except urllib.error.HTTPError as e:
    ok(e.code == 405 and "read-only" in e.read().decode(), "a POST is answered 405, read-only")

print(f"all {passed} checks passed")
