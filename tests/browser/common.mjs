// What the browser scripts share: Debian's chromium through playwright-core, a check that
// prints one line, and axe-core's WCAG 2.1 A/AA run.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let checks = 0;

/** Prints "ok MESSAGE", or throws "FAILED: MESSAGE". */
export function ok(condition, message) {
  if (!condition) { throw new Error("FAILED: " + message); }
  checks += 1;
  console.log("ok " + message);
}

/** How many checks passed so far. */
export function passed() { return checks; }

/** axe-core on the page as it is now: no WCAG 2.1 A/AA violation. */
export async function axe(page, label) {
  // Evaluated through the DevTools protocol, which the pages' Content-Security-Policy (no
  // inline script) does not cover; a script tag would be refused, as it should be.
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) {
    await page.evaluate(axeSource);
  }
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    return await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
  });
  const summary = result.violations.map((v) => v.id + " (" + v.impact + "): " + v.nodes.map((n) => n.target.join(" ")).join(", "));
  ok(result.violations.length === 0, "axe: no WCAG 2.1 A/AA violations on " + label + (summary.length ? "\n  " + summary.join("\n  ") : ""));
}

/** Debian's chromium (or $CHROMIUM), headless. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
