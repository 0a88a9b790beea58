// Browser checks of the resident pages and the admin login, driven by tests/browser.rs.
//
// Usage: node check.mjs BASE_URL PUBLIC_STATION PRIVATE_STATION ADMIN_USER ADMIN_PASSWORD
//        STALE_STATION (a public station whose values are days old) PUBLIC_EUI (the device of
//        PUBLIC_STATION) REPLAY_EUI (a device whose first uplink waits as a dead letter)
//        BATTERY_EUI (a device reporting a falling battery voltage for eight days)
// The Rust test keeps publishing new values for PUBLIC_STATION while this runs.
// Prints one line per check and exits non-zero on the first failure.
import { axe, launch, ok, passed } from "./common.mjs";

const [base, station, privateStation, adminUser, adminPassword, staleStation, publicEui, replayEui, batteryEui] = process.argv.slice(2);

const browser = await launch();
try {
  const context = await browser.newContext({ locale: "de-DE" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") { errors.push(m.text() + " " + JSON.stringify(m.location())); } });

  // Every resident page loads, in both languages, and passes axe.
  const pages = [
    "/", "/?lang=en", "/stations/" + station, "/stations/" + station + "?range=7d&lang=en",
    "/daten?lang=de", "/data?lang=en", "/barrierefreiheit?lang=de", "/accessibility?lang=en",
    "/embed/stations/" + station, "/embed/stations/" + station + "?lang=en", "/embed/map", "/embed/map?lang=en",
  ];
  for (const path of pages) {
    const response = await page.goto(base + path);
    ok(response.status() === 200, "GET " + path + " answers 200");
    const html = await page.content();
    ok(!html.includes(privateStation), path + " does not show the private station");
    ok(!/70b3d57ed|rssi|dev_eui/i.test(await page.innerText("body")), path + " shows no device identifier or radio data");
    ok(!/batter|spannung|voltage/i.test(await page.innerText("body")), path + " shows no device health (battery, supply voltage)");
    if (path.startsWith("/stations/")) {
      await page.waitForSelector("figure.chart[data-drawn]");
    }
    await axe(page, path);
  }
  ok(errors.length === 0, "no script errors (" + errors.join("; ") + ")");

  // The embed pages load in a frame of an allowed origin ('self' here) ...
  await page.goto(base + "/daten");
  await page.evaluate((src) => {
    const frame = document.createElement("iframe");
    frame.src = src;
    frame.title = "embed";
    document.body.appendChild(frame);
  }, "/embed/stations/" + station);
  const embedded = page.frameLocator("iframe[title=embed]");
  await embedded.locator("h1").waitFor();
  ok((await embedded.locator("tr[data-quantity]").count()) > 0, "the station embed shows its values in a frame");
  // ... and every other origin is refused by the header; the technicians' pages by everyone.
  const embedHeaders = (await page.request.get(base + "/embed/map")).headers();
  ok(/frame-ancestors 'self'/.test(embedHeaders["content-security-policy"] || ""), "embeds may be framed by the allowed origins only");
  const adminHeaders = (await page.request.get(base + "/admin/login")).headers();
  ok(/frame-ancestors 'none'/.test(adminHeaders["content-security-policy"] || ""), "the technicians' pages are never framed");

  // The map shows the public station.
  await page.goto(base + "/?lang=de");
  await page.waitForSelector("#map[data-ready]").catch((e) => { throw new Error(errors.join("; ") || e.message); });
  const markers = await page.getAttribute("#map", "data-ready");
  ok(Number(markers) >= 1, "the map shows " + markers + " station(s)");
  ok(errors.length === 0, "no script errors on the map (" + errors.join("; ") + ")");
  ok(await page.locator(".leaflet-interactive").count() >= 1, "the map draws a marker");
  // Keyboard: Tab reaches a marker, Enter opens its popup with the focus on the station link,
  // Escape closes it and the focus goes back to the marker.
  const marker = page.locator('.station-marker[aria-label*="' + station + '"]');
  ok(await marker.getAttribute("tabindex") === "0" && await marker.getAttribute("role") === "button",
    "the station's marker is a focusable button");
  await page.locator("a.skip").focus();
  let reached = false;
  for (let i = 0; i < 40 && !reached; i += 1) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate((id) => document.activeElement?.classList.contains("station-marker")
      && document.activeElement.getAttribute("aria-label").includes(id), station);
  }
  ok(reached, "Tab reaches the station's marker");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".leaflet-popup");
  const focused = await page.evaluate(() => document.activeElement?.getAttribute("href"));
  ok(focused === "/stations/" + station, "Enter opens the popup with the focus on the station link (" + focused + ")");
  // Leaflet fades popups in; axe measures contrast through the opacity, so wait for the end.
  await page.waitForFunction(() => getComputedStyle(document.querySelector(".leaflet-popup")).opacity === "1");
  await axe(page, "/ with the map drawn and a popup open");
  await page.keyboard.press("Escape");
  await page.waitForSelector(".leaflet-popup", { state: "detached" });
  ok(await page.evaluate(() => document.activeElement?.classList.contains("station-marker")),
    "Escape closes the popup and the focus returns to the marker");

  // A live value arrives without reloading.
  const cell = page.locator('tr[data-station="' + station + '"][data-quantity="air_temperature"] .number');
  await page.waitForSelector("#live-toggle:not([hidden])");
  const before = await cell.innerText();
  await page.waitForFunction(
    ([sel, old]) => document.querySelector(sel)?.textContent !== old,
    ['tr[data-station="' + station + '"][data-quantity="air_temperature"] .number', before],
    { timeout: 20000 },
  );
  ok(true, "a live value arrived (" + before + " -> " + (await cell.innerText()) + ")");
  const staleText = await page.innerText('tr[data-station="' + staleStation + '"][data-quantity="air_temperature"]');
  ok(staleText.includes("(veraltet)"), "an old value is marked as outdated (" + staleText + ")");
  const freshText = await page.innerText('tr[data-station="' + station + '"][data-quantity="air_temperature"]');
  ok(!freshText.includes("veraltet"), "a fresh value is not (" + freshText + ")");

  // Pause: nothing changes while values keep coming; resume: they arrive again.
  await page.click("#live-toggle");
  ok((await page.getAttribute("#live-toggle", "aria-pressed")) === "true", "the pause button says it is pressed");
  const paused = await cell.innerText();
  await page.waitForTimeout(4000);
  ok((await cell.innerText()) === paused, "no update while paused");
  await page.click("#live-toggle");
  ok((await page.getAttribute("#live-toggle", "aria-pressed")) === "false", "resumed");
  await page.waitForFunction(
    ([sel, old]) => document.querySelector(sel)?.textContent !== old,
    ['tr[data-station="' + station + '"][data-quantity="air_temperature"] .number', paused],
    { timeout: 20000 },
  );
  ok(true, "values arrive again after resume");

  // Language switch: to English and it sticks, back to German.
  ok((await page.getAttribute("html", "lang")) === "de", "German by default");
  await page.click("#lang-switch");
  await page.waitForLoadState();
  ok((await page.getAttribute("html", "lang")) === "en", "the switch turns the page English");
  ok((await page.innerText("h1")) === "Measurements", "English heading");
  await page.goto(base + "/stations/" + station);
  ok((await page.getAttribute("html", "lang")) === "en", "English is remembered on the next page");
  await page.click("#lang-switch");
  await page.waitForLoadState();
  ok((await page.getAttribute("html", "lang")) === "de", "and switches back to German");

  // Every chart has its data table, with the same number of points, and a text summary.
  await page.goto(base + "/stations/" + station);
  await page.waitForSelector("figure.chart[data-drawn]");
  const charts = await page.$$eval("figure.chart", (figs) => figs.map((f) => ({
    table: f.getAttribute("data-table"),
    drawn: Number(f.getAttribute("data-drawn")),
    window: [Date.parse(f.getAttribute("data-since")) / 1000, Date.parse(f.getAttribute("data-until")) / 1000],
    axis: [Number(f.getAttribute("data-x-min")), Number(f.getAttribute("data-x-max"))],
    described: document.getElementById(f.getAttribute("aria-describedby"))?.textContent || "",
  })));
  ok(charts.length >= 2, charts.length + " charts on the station page");
  for (const c of charts) {
    const rows = await page.locator("#" + c.table + " tbody tr").count();
    ok(rows > 0 && rows === c.drawn, "chart " + c.table + " has its data table (" + rows + " rows, " + c.drawn + " points)");
    ok(c.described.length > 20, "chart " + c.table + " has a text summary");
    // The x-axis is the window the page names, within 2 % of its length, whatever the data.
    const span = c.window[1] - c.window[0];
    ok(span > 0 && Math.abs(c.axis[0] - c.window[0]) <= 0.02 * span && Math.abs(c.axis[1] - c.window[1]) <= 0.02 * span,
      "chart " + c.table + " shows its window (" + c.axis + " for " + c.window + ")");
  }
  // A week's window with a day of data: the axis still spans the week.
  await page.goto(base + "/stations/" + station + "?range=7d");
  await page.waitForSelector("figure.chart[data-x-min]");
  const weekly = await page.$$eval("figure.chart", (figs) => figs.map((f) => ({
    table: f.getAttribute("data-table"),
    window: [Date.parse(f.getAttribute("data-since")) / 1000, Date.parse(f.getAttribute("data-until")) / 1000],
    axis: [Number(f.getAttribute("data-x-min")), Number(f.getAttribute("data-x-max"))],
  })));
  for (const c of weekly) {
    const span = c.window[1] - c.window[0];
    ok(span > 6 * 86400 && Math.abs(c.axis[0] - c.window[0]) <= 0.02 * span && Math.abs(c.axis[1] - c.window[1]) <= 0.02 * span,
      "7-day chart " + c.table + " spans the week (" + c.axis + " for " + c.window + ")");
  }
  await page.goto(base + "/stations/" + station);
  await page.waitForSelector("figure.chart[data-drawn]");
  const csv = await page.getAttribute("a[download]", "href");
  const download = await page.request.get(base + csv);
  ok(download.status() === 200 && (await download.text()).startsWith("time,station,quantity"), "CSV download " + csv);

  // On a phone (320 CSS pixels, WCAG 1.4.10 Reflow) no page scrolls sideways as a whole; wide
  // tables scroll inside their own box.
  const phone = await browser.newContext({ locale: "de-DE", viewport: { width: 320, height: 640 } });
  const small = await phone.newPage();
  for (const path of pages) {
    await small.goto(base + path);
    if (path.startsWith("/stations/")) {
      await small.waitForSelector("figure.chart[data-drawn]");
    }
    const width = await small.evaluate(() => document.documentElement.scrollWidth);
    const wide = width <= 320 ? [] : await small.evaluate(() => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > 320 && !e.closest(".scroll"))
      .slice(0, 5).map((e) => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)));
    ok(width <= 320, path + " fits a 320 px wide screen (" + width + " px) " + wide.join(", "));
  }
  await phone.close();

  // A private station has no page.
  const hidden = await page.goto(base + "/stations/" + privateStation);
  ok(hidden.status() === 404, "the private station's page is 404");

  // Admin: refused without login, usable after; English by choice, German by default.
  await page.goto(base + "/admin/login?lang=en");
  ok((await page.innerText("h1")) === "Log in" && (await page.getAttribute("html", "lang")) === "en",
    "the admin login speaks English when asked");
  await axe(page, "/admin/login?lang=en");
  await page.goto(base + "/admin/login?lang=de");
  ok((await page.innerText("h1")) === "Anmeldung", "and German by default");
  await page.goto(base + "/admin");
  ok(page.url().endsWith("/admin/login"), "/admin redirects to the login");
  await page.fill("#user", adminUser);
  await page.fill("#password", "wrong password");
  await page.click("button[type=submit]");
  ok((await page.innerText(".error")).length > 0, "a wrong password is refused");
  await page.fill("#user", adminUser);
  await page.fill("#password", adminPassword);
  await page.click("button[type=submit]");
  await page.waitForSelector("#device-health");
  ok(page.url().endsWith("/admin"), "logged in");
  ok((await page.content()).includes(privateStation), "technicians see every station, the private one too");
  await axe(page, "/admin");
  // The health table links each device to its page: charts with data, the last uplinks with
  // their radio data and the readings they stored.
  await page.click('#device-health a[href="/admin/devices/' + publicEui + '"]');
  await page.waitForURL(new RegExp("/admin/devices/" + publicEui + "$"));
  await page.waitForSelector("figure.chart[data-drawn]");
  const drawn = await page.$$eval("figure.chart[data-drawn]", (figs) => figs.map((f) => f.getAttribute("data-table") + ":" + f.getAttribute("data-drawn")));
  ok(["rssi", "snr", "gateways", "uplinks", "lost"].every((id) => drawn.some((d) => d.startsWith("chart-" + id + ":") && !d.endsWith(":0"))),
    "the device page charts its radio over 24 hours (" + drawn.join(", ") + ")");
  const uplinkRows = await page.locator("#last-uplinks tbody tr").count();
  const newest = await page.locator("#last-uplinks tbody tr").first().innerText();
  ok(uplinkRows >= 10 && /dBm/.test(newest) && /air_temperature/.test(newest),
    "and lists its last uplinks with signal and readings (" + uplinkRows + " rows; " + newest.replace(/\s+/g, " ") + ")");
  ok(newest.includes("0016c001f153a14c"), "each uplink names the gateway that heard it");
  await axe(page, "/admin/devices/" + publicEui);
  // A device registered after its first uplink: the dead letter is on its page, and the
  // replay button turns it into its first uplink and readings.
  await page.goto(base + "/admin/devices/" + replayEui);
  ok((await page.innerText("#dead-letters")).includes("unknown_device"), "the device page lists its dead letter");
  ok((await page.locator("#last-uplinks").count()) === 0, "and no uplink yet");
  await page.click('form[action="/admin/devices/' + replayEui + '/replay"] button');
  await page.waitForURL(/replayed=1-0/);
  const replayedRow = await page.locator("#last-uplinks tbody tr").first().innerText();
  ok(/air_temperature 9,5/.test(replayedRow) && (await page.innerText("[role=status]")).includes("Erneut verarbeitet: 1"),
    "the replay stores the uplink and its readings (" + replayedRow.replace(/\s+/g, " ") + ")");
  await axe(page, "/admin/devices/" + replayEui + " after a replay");
  // A battery given in volts is shown in percent on the LiSOCl2 curve, with its trend: 3.52 V
  // is 76 % (70 % at 3.5 V, 100 % at 3.6 V), falling 10 mV a day is 21 % a week, so about
  // four weeks are left.
  await page.goto(base + "/admin/devices/" + batteryEui + "?range=7d");
  await page.waitForSelector("figure.chart[data-table=battery][data-drawn]");
  const batteryNow = await page.innerText("#battery-now");
  const batteryTrend = await page.innerText("#battery-trend");
  ok(batteryNow === "76 % (aus 3,52 V, Entladekurve lisocl2)" && batteryTrend === "Trend: -21 % je Woche; leer in etwa 4 Wochen.",
    "the battery in percent with its trend: " + batteryNow + " / " + batteryTrend);
  await page.goto(base + "/admin");
  ok(new RegExp(batteryEui + "[^\\n]*76 % \\(3\\.52 V\\)").test(await page.innerText("#device-health")), "the health table shows the battery in percent and volts");
  await axe(page, "/admin/devices/" + batteryEui);
  // The gateways page lists every gateway that heard an uplink.
  await page.goto(base + "/admin/gateways");
  const gateways = await page.innerText("#gateways");
  ok(/0016c001f153a14c\s+Hafen Wyk/.test(gateways) && /gw-neu\s+Kirche Nieblum\s+nie/.test(gateways),
    "the gateways page lists the gateway of the uplinks by name, and a registered one never heard: " + gateways.replace(/\s+/g, " "));
  await axe(page, "/admin/gateways");
  // A gateway's page: its hours charted, the devices it heard linked to their pages.
  await page.click('#gateways a[href="/admin/gateways/0016c001f153a14c"]');
  await page.waitForSelector("figure.chart[data-drawn]");
  const heardDevices = await page.innerText("#heard-devices");
  ok(heardDevices.includes(publicEui) && (await page.locator("figure.chart[data-drawn]").count()) === 3,
    "the gateway's page charts its uplinks, RSSI and SNR and lists the devices it heard");
  await axe(page, "/admin/gateways/0016c001f153a14c");
  // The technicians' map: devices and the named gateway at their positions, joined by lines.
  await page.goto(base + "/admin/map");
  await page.waitForSelector("#admin-map[data-ready]");
  const [devicesOnMap, gatewaysOnMap, lines] = (await page.getAttribute("#admin-map", "data-ready")).split(",").map(Number);
  ok(devicesOnMap >= 3 && gatewaysOnMap === 1 && lines >= 1 && (await page.locator("#admin-map-legend li").count()) === 4,
    "the technicians' map shows " + devicesOnMap + " devices, " + gatewaysOnMap + " gateway and " + lines + " signal line(s) with a legend");
  await page.waitForTimeout(300);
  await axe(page, "/admin/map");
  await page.goto(base + "/admin?lang=en");
  ok((await page.innerText("h1")) === "Devices" && (await page.innerText("#device-health thead")).includes("Last seen"),
    "the workbench in English");
  await page.goto(base + "/admin?lang=de");
  // A technician registers a new device from the workbench: it is listed at once.
  await page.fill("#f-eui", "0606060606060606");
  await page.fill("#f-station", "pegel-neu");
  await page.selectOption("#f-type", "cayenne-lpp");
  await page.fill("#f-lat", "54,7012");
  await page.fill("#f-lon", "8.5311");
  await page.check("#f-public");
  await page.click(".device-form button[type=submit]");
  await page.waitForURL(/\/admin#registry$/);
  const row = await page.innerText("#publication");
  ok(row.includes("0606060606060606") && row.includes("pegel-neu"), "a device registered from the workbench is listed");
  // Editing starts from the device's details.
  await page.click('a[href="/admin?edit=0606060606060606#devices-form"]');
  await page.waitForURL(/edit=0606060606060606/);
  ok(await page.inputValue("#f-eui") === "0606060606060606" && await page.inputValue("#f-station") === "pegel-neu"
    && await page.inputValue("#f-lat") === "54.7012" && await page.isChecked("#f-public")
    && await page.inputValue("#f-type") === "cayenne-lpp", "the edit link fills the form with the device's details");
  await axe(page, "/admin?edit=…");
  // The import on the web: a file with one bad row changes nothing and names the row's
  // problem; the file made good previews what it adds and changes, then applies.
  const header = "dev_eui,name,station,device_type,lat,lon,public\n";
  const goodRows = "0909090909090901,Boje Amrum,boje-amrum,cayenne-lpp,54.63,8.38,false\n" +
    "0606060606060606,Pegel Neu,pegel-neu,cayenne-lpp,54.7012,8.5311,true\n";
  const upload = async (name, text) => {
    await page.goto(base + "/admin?lang=de");
    await page.click('a[href="/admin/devices/import"]');
    await page.setInputFiles("#i-file", { name, mimeType: "text/csv", buffer: Buffer.from(text) });
    await page.click("form[action='/admin/devices/import'] button[type=submit]");
    await page.waitForSelector("#import-rows");
  };
  await upload("geraete.csv", header + goodRows + "0909090909090903,Boje Kaputt,boje-kaputt,cayenne-lpp,95,8.4,false\n");
  ok((await page.innerText("#import-problems")).startsWith("1 ") &&
    /line 4\s+Fehler: lat: 95 is outside ±90/.test(await page.innerText("#import-rows")) &&
    (await page.locator("form[action='/admin/devices/import/apply']").count()) === 0,
    "a file with a bad row shows the row's problem and offers nothing to apply");
  await axe(page, "/admin/devices/import (preview with a problem)");
  await page.goto(base + "/admin?lang=de");
  ok(!(await page.innerText("#publication")).includes("0909090909090901"), "and the registry is unchanged");
  await upload("geraete.csv", header + goodRows);
  const planned = await page.innerText("#import-rows");
  ok(/0909090909090901\s+boje-amrum\s+neu/.test(planned) && /0606060606060606\s+pegel-neu\s+geändert: name/.test(planned) &&
    (await page.innerText("#import-summary")).startsWith("1 neu, 1 geändert"),
    "the preview says what each row adds or changes: " + planned.replace(/\s+/g, " "));
  await axe(page, "/admin/devices/import (preview)");
  await page.click("form[action='/admin/devices/import/apply'] button");
  await page.waitForSelector("[role=status]");
  ok((await page.innerText("[role=status]")).startsWith("1 neu, 1 geändert"), "the import applies");
  await page.goto(base + "/admin?lang=de");
  const registry = await page.innerText("#publication");
  ok(registry.includes("0909090909090901") && registry.includes("Pegel Neu"), "and the workbench lists the imported devices");
  // A preview applies only to the registry it was made against: a second tab's preview,
  // overtaken by another import, is shown again instead of applied.
  const rename = (name) => header + "0909090909090901," + name + ",boje-amrum,cayenne-lpp,54.63,8.38,false\n";
  const otherTab = await context.newPage();
  const previewIn = async (tab, text) => {
    await tab.goto(base + "/admin/devices/import?lang=de");
    await tab.setInputFiles("#i-file", { name: "boje.csv", mimeType: "text/csv", buffer: Buffer.from(text) });
    await tab.click("form[action='/admin/devices/import'] button[type=submit]");
    await tab.waitForSelector("#import-rows");
  };
  await previewIn(otherTab, rename("Boje Alt"));
  await previewIn(page, rename("Boje Neu"));
  await page.click("form[action='/admin/devices/import/apply'] button");
  await page.waitForSelector("[role=status]");
  await otherTab.click("form[action='/admin/devices/import/apply'] button");
  await otherTab.waitForSelector("#import-rows");
  ok((await otherTab.innerText("[role=alert]")).includes("seit der Vorschau geändert"), "an overtaken preview is not applied but shown again");
  await otherTab.close();
  await page.goto(base + "/admin?lang=de");
  ok((await page.innerText("#publication")).includes("Boje Neu"), "and the newer import stands");
  await page.click(".logout button");
  await page.waitForURL(/\/admin\/login$/);
  const again = await page.goto(base + "/admin");
  ok(page.url().endsWith("/admin/login") && again.status() === 200, "after logout /admin is refused again");
  console.log("all " + passed() + " checks passed");
} finally {
  await browser.close();
}
