/*
 * Aladin Lite sky view of the object page, from the npm bundle in ./vendor (no CDN).
 *
 * Dash loads this file as an ES module on every page. The object page renders
 * <div id="aladin-view" data-ra="…" data-dec="…"> (degrees, ICRS); the page is a single-page
 * app, so that div comes and goes and its coordinates change between objects: a
 * MutationObserver watches for it. The first time one appears, the 2.4 MB bundle is
 * imported and one Aladin instance is made in a host element of ours; later divs get that
 * same host moved into them and re-pointed (a new instance per object would leave the old
 * ones' render loops and WebGL contexts running).
 *
 * States, on the div: data-aladin="ready" (Aladin is drawing, centred on the object;
 * its survey tiles come from CDS over the internet and may still fail to load) or
 * "failed" (no WebGL2, no bundle...: a short note replaces the view). data-aladin-center
 * is the centre Aladin reports, "ra dec" in degrees. Nothing here throws into the page.
 */

const VIEW_ID = "aladin-view";
const BUNDLE_URL = "./vendor/aladin.js";
// Pan-STARRS DR1 colour (CDS id P/PanSTARRS/DR1/color-z-zg-g), described in full: given
// only its id, Aladin first fetches the survey's properties, and when that fails (offline)
// it falls back to DSS, whose properties fail too, again and again.
const SURVEY_URL = "https://alasky.cds.unistra.fr/Pan-STARRS/DR1/color-z-zg-g";
const SURVEY = { name: "PanSTARRS DR1 color", maxOrder: 11, tileSize: 512, imgFormat: "jpeg",
                 cooFrame: "ICRS" };
const FOV_DEG = 1.5 / 60; // ZTF cutouts are ~1 arcmin across
const MARKER_COLOR = "#e5484d";
const UNAVAILABLE_TEXT = "sky view unavailable";
const NOTE_CLASS = "aladin-unavailable";
const HOST_CLASS = "aladin-host";

let bundle = null; // Promise of Aladin's `A`, initialised: imported once, on first use
let shared = null; // {A, aladin, host, marker}: the one Aladin instance

/** Aladin's namespace, once its WebAssembly core is ready (rejects without WebGL2). */
function loadAladin() {
  if (!bundle) {
    bundle = import(BUNDLE_URL).then(async (module) => {
      const A = module.default;
      await A.init; // a promise made when the bundle is evaluated
      return A;
    });
    // A failed import is retried by the next view (a WebGL failure fails again, fast).
    bundle.catch(() => { bundle = null; });
  }
  return bundle;
}

/** {ra, dec} in degrees, null while the page has not set them, or throws if invalid. */
function targetOf(el) {
  const { ra, dec } = el.dataset;
  if (ra === undefined || dec === undefined || ra === "" || dec === "") {
    return null;
  }
  const position = { ra: Number(ra), dec: Number(dec) };
  if (!Number.isFinite(position.ra) || !Number.isFinite(position.dec)
      || Math.abs(position.dec) > 90) {
    throw new Error(`invalid position data-ra=${ra} data-dec=${dec}`);
  }
  return position;
}

function newInstance(A, host) {
  const survey = A.HiPS(SURVEY_URL, SURVEY);
  // Read from the properties file otherwise; Aladin 3.8.2 (pinned) leaves it unset when
  // the survey is described in full, and its core then refuses the layer.
  survey.dataproductType = "image";
  const aladin = A.aladin(host, {
    survey,
    fov: FOV_DEG,
    cooFrame: "ICRS",
    // No call home (CDS usage log) and no shortcuts that need other services.
    log: false,
    samp: false,
    showReticle: false,
    showProjectionControl: false,
    showFullscreenControl: false,
    showLayersControl: false,
    showContextMenu: false,
  });
  const marker = A.catalog({ name: "object", shape: "circle", sourceSize: 24,
                             color: MARKER_COLOR });
  aladin.addCatalog(marker);
  return { A, aladin, host, marker };
}

/** The shared instance, its host moved into ``el`` (made on first use). */
function instanceIn(A, el) {
  if (!shared) {
    const host = document.createElement("div");
    host.className = HOST_CLASS;
    el.appendChild(host); // attached first: Aladin sizes its canvas from its container
    try {
      shared = newInstance(A, host);
    } catch (error) {
      host.remove();
      throw error;
    }
  } else if (shared.host.parentElement !== el) {
    el.appendChild(shared.host);
  }
  return shared;
}

function pointAt(view, el, { ra, dec }) {
  view.aladin.gotoRaDec(ra, dec);
  view.aladin.setFoV(FOV_DEG);
  view.marker.removeAll();
  view.marker.addSources([view.A.source(ra, dec)]);
  const [centerRa, centerDec] = view.aladin.getRaDec();
  el.dataset.aladinCenter = `${centerRa} ${centerDec}`;
}

function markReady(el) {
  el.querySelectorAll(`.${NOTE_CLASS}`).forEach((note) => note.remove());
  el.dataset.aladin = "ready";
}

function markFailed(el, error) {
  console.warn(`aladin-loader: ${UNAVAILABLE_TEXT}:`, error);
  if (shared && shared.host.parentElement === el) {
    shared.host.remove();
  }
  if (!el.querySelector(`.${NOTE_CLASS}`)) {
    const note = document.createElement("p");
    note.className = NOTE_CLASS;
    note.textContent = UNAVAILABLE_TEXT;
    el.appendChild(note);
  }
  el.dataset.aladin = "failed";
}

// Aladin's WebAssembly start costs ~1 s of main-thread work on a small machine: start it
// once the light curve is drawn (or after PLOTS_WAIT_MS), when the browser is idle, so the
// page's data is on screen first. The sky view is an addition, never in the way.
const PLOTS_WAIT_MS = 3000;
function afterPlotsDrawn() {
  return new Promise((resolve) => {
    const started = performance.now();
    const idle = () => (window.requestIdleCallback
      ? window.requestIdleCallback(resolve, { timeout: 1000 }) : setTimeout(resolve, 50));
    const poll = () => {
      if (document.querySelector("#lightcurve-graph .main-svg")
          || performance.now() - started > PLOTS_WAIT_MS) {
        idle();
      } else {
        setTimeout(poll, 50);
      }
    };
    poll();
  });
}

/** Shows ``target`` in ``el``, unless the page has moved on while the bundle loaded. */
async function show(el, key, target) {
  try {
    await afterPlotsDrawn();
    const A = await loadAladin();
    if (!el.isConnected || el.dataset.aladinTarget !== key) {
      return; // a newer call handles the element's current position
    }
    pointAt(instanceIn(A, el), el, target);
    markReady(el);
  } catch (error) {
    if (el.dataset.aladinTarget === key) {
      markFailed(el, error);
    }
  }
}

/** Starts showing the view's position if it is new for that element. */
function update() {
  const el = document.getElementById(VIEW_ID);
  if (!el) {
    return;
  }
  const key = `${el.dataset.ra ?? ""} ${el.dataset.dec ?? ""}`;
  if (el.dataset.aladinTarget === key) {
    return; // already shown, or on its way
  }
  el.dataset.aladinTarget = key;
  try {
    const target = targetOf(el);
    if (target) {
      show(el, key, target);
    }
  } catch (error) {
    markFailed(el, error);
  }
}

// Aladin redraws parts of its own DOM often: coalesce mutations into one check per task.
let pending = false;
function scheduleUpdate() {
  if (pending) {
    return;
  }
  pending = true;
  setTimeout(() => {
    pending = false;
    try {
      update();
    } catch (error) {
      console.warn("aladin-loader:", error);
    }
  }, 0);
}

try {
  new MutationObserver(scheduleUpdate).observe(document.documentElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["data-ra", "data-dec"],
  });
  scheduleUpdate();
} catch (error) {
  console.warn("aladin-loader: not started:", error);
}
