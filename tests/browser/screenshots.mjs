// Screenshots of the resident pages, German and English, at 1280 and 360 CSS pixels, with the
// test suite's chromium. Run by scripts/screenshots against a running demo.
//
// Usage: node screenshots.mjs BASE_URL OUT_DIR
import { mkdirSync } from "node:fs";
import { launch } from "./common.mjs";

const [base, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

const pages = [
  ["overview", "/"],
  ["station-gauge", "/stations/pegel-03"],
  ["station-weather", "/stations/wetter-01"],
  ["embed-map", "/embed/map"],
];

const browser = await launch();
try {
  for (const [lang, locale] of [["de", "de-DE"], ["en", "en-GB"]]) {
    for (const width of [1280, 360]) {
      const context = await browser.newContext({ locale, viewport: { width, height: width > 400 ? 900 : 740 } });
      const page = await context.newPage();
      for (const [name, path] of pages) {
        await page.goto(base + path + (path.includes("?") ? "&" : "?") + "lang=" + lang);
        // The map and the charts are drawn by scripts; wait for them where the page has them.
        if (await page.locator("#map").count()) {
          await page.waitForSelector("#map[data-ready][data-land]", { timeout: 15000 }).catch(() => {});
        }
        if (await page.locator("figure.chart").count()) {
          await page.waitForSelector("figure.chart canvas", { timeout: 15000 }).catch(() => {});
        }
        await page.waitForTimeout(400);
        const file = out + "/" + name + "-" + lang + "-" + width + ".png";
        await page.screenshot({ path: file, fullPage: width <= 400 });
        console.log(file);
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
}
