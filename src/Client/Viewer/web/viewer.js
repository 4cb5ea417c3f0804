// UniCLift's 3D viewer: the segmented Gaussians through @mkkellogg/gaussian-splats-3d (a real Gaussian-splat renderer on
// three.js), coloured by RGB or by instance, an instance list (click to isolate, checkbox to hide; click in the 3D view to
// isolate, shift-click to hide), and the training cameras as frusta.
// Bundled by build-viewer.sh into viewer.bundle.js (global `UniCLiftViewer`), embedded in the uniclift assembly; the same
// bundle runs in `uniclift view` (data fetched from the local server) and in report.html (data inlined as base64).
//
// Data (written by UniCLift.Client.Viewer.ViewerPayload):
//   meta:    { source, total, shown, note, instances: [{id, gaussians}], cameras: [{name, c2w[16] row-major, fx, fy, cx, cy, width, height}] }
//   payload: shown x 32-byte .splat rows (position f32x3, scale f32x3, rgba u8x4, rotation u8x4 w,x,y,z), then shown x int32 instance ids.
import * as THREE from 'three';
import * as GS from '@mkkellogg/gaussian-splats-3d';

const ROW = 32;

// The same palette as the C# LabelColors (golden-ratio hue walk), so the 3D colours match the report's label maps.
export function instanceColor(id) {
  if (id <= 0) return [40, 40, 40];
  const h = (id * 0.61803398875) % 1.0, s = 0.65 + 0.35 * ((id * 7) % 3) / 2.0, v = 0.95;
  const hi = Math.floor(h * 6) % 6;
  const f = h * 6 - Math.floor(h * 6), p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][hi];
  return rgb.map((c) => Math.floor(c * 255));
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'style') e.style.cssText = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

const CSS = `
.ucv{display:flex;height:100%;min-height:420px;font-family:system-ui,sans-serif;font-size:13px;color:#222}
.ucv-side{width:250px;flex:none;overflow:auto;padding:8px;border-right:1px solid #ddd;background:#fff}
.ucv-view{flex:1;position:relative;background:#111;min-width:200px}
.ucv-side h3{margin:4px 0 6px 0;font-size:14px}
.ucv-side .note{color:#a60;font-size:12px;margin:4px 0}
.ucv-list{list-style:none;margin:6px 0;padding:0}
.ucv-list li{display:flex;align-items:center;gap:6px;padding:2px 4px;cursor:pointer;border-radius:3px}
.ucv-list li:hover{background:#eef}
.ucv-list li.isolated{background:#dde8ff;font-weight:600}
.ucv-list li.hidden .name{text-decoration:line-through;color:#999}
.ucv-list .swatch{width:12px;height:12px;border:1px solid #888;flex:none}
.ucv-list .count{margin-left:auto;color:#555;font-variant-numeric:tabular-nums}
.ucv-status{color:#555;font-size:12px;margin-top:6px}
`;

/**
 * Starts the viewer in `root`. `meta` is the JSON above, `payload` an ArrayBuffer. Returns a controller (also set as
 * window.uniclift) with isolate(id), hide(id, hidden), showAll(), setMode('rgb'|'instance'), state().
 * Sets data-viewer="ready" on `root` and <body> once the first scene is on screen, data-viewer="error" (and data-viewer-error) on failure.
 */
export function start(root, meta, payload) {
  // State for headless checks, on the viewer's element (several viewers in one report) and on <body> (the last one).
  const mark = (k, v) => { root.setAttribute(k, v); document.body.setAttribute(k, v); };
  const fail = (e) => {
    mark('data-viewer', 'error');
    mark('data-viewer-error', String(e && e.message || e));
    console.error('uniclift viewer:', e);
  };
  try {
    return startUnchecked(root, meta, payload, fail, mark);
  } catch (e) {
    fail(e);
    return null;
  }
}

function startUnchecked(root, meta, payload, fail, mark) {
  if (!document.getElementById('ucv-style')) document.head.append(el('style', { id: 'ucv-style' }, CSS));
  const n = meta.shown;
  if (payload.byteLength !== n * (ROW + 4)) throw new Error(`payload has ${payload.byteLength} bytes, expected ${n * (ROW + 4)} for ${n} Gaussians`);
  const rows = new Uint8Array(payload, 0, n * ROW);
  const ids = new Int32Array(payload, n * ROW, n);
  const positions = new Float32Array(payload, 0, n * ROW / 4); // stride 8 floats, xyz first

  const state = { mode: 'rgb', hidden: new Set(), isolated: null, shownGaussians: 0, renders: 0, busy: false };

  // Layout: side panel (mode, instances, cameras) + the 3D view.
  const view = el('div', { class: 'ucv-view', 'data-role': 'view' });
  const status = el('div', { class: 'ucv-status', 'data-role': 'status' }, 'loading...');
  const list = el('ul', { class: 'ucv-list', 'data-role': 'instances' });
  const mode = el('select', { 'data-role': 'mode', onchange: () => setMode(mode.value) },
    el('option', { value: 'rgb' }, 'colour: RGB'), el('option', { value: 'instance' }, 'colour: instance'));
  const showCams = el('input', { type: 'checkbox', checked: '', 'data-role': 'cameras-toggle' });
  const side = el('div', { class: 'ucv-side' },
    el('h3', {}, 'Instances'),
    mode,
    el('div', { style: 'margin-top:6px' }, el('button', { 'data-role': 'show-all', onclick: () => showAll() }, 'show all')),
    list,
    el('label', {}, showCams, ` ${meta.cameras.length} training cameras`),
    status);
  for (const note of [meta.note].filter(Boolean)) side.insertBefore(el('div', { class: 'note', 'data-role': 'note' }, note), list);
  root.replaceChildren(el('div', { class: 'ucv' }, side, view));

  const items = new Map();
  for (const inst of meta.instances) {
    const [r, g, b] = instanceColor(inst.id);
    const box = el('input', { type: 'checkbox', checked: '', title: 'shown (uncheck to hide)' });
    box.addEventListener('click', (e) => { e.stopPropagation(); hide(inst.id, !box.checked); });
    const li = el('li', { 'data-instance': String(inst.id), 'data-gaussians': String(inst.gaussians), title: 'click: isolate this instance (again: show all)' },
      box, el('span', { class: 'swatch', style: `background:rgb(${r},${g},${b})` }),
      el('span', { class: 'name' }, inst.id === 0 ? '0 (background)' : String(inst.id)),
      el('span', { class: 'count' }, inst.gaussians.toLocaleString('en-US')));
    li.addEventListener('click', () => isolate(state.isolated === inst.id ? null : inst.id));
    list.append(li);
    items.set(inst.id, { li, box });
  }

  // Scene bounds (from the Gaussians' centres and the cameras) for the frustum size and the first view.
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) { const v = positions[i * 8 + k]; if (v < lo[k]) lo[k] = v; if (v > hi[k]) hi[k] = v; }
  for (const c of meta.cameras) for (let k = 0; k < 3; k++) { const v = c.c2w[k * 4 + 3]; if (v < lo[k]) lo[k] = v; if (v > hi[k]) hi[k] = v; }
  const extent = n || meta.cameras.length ? Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) || 1 : 1;
  const centre = n ? [0, 1, 2].map((k) => (lo[k] + hi[k]) / 2) : [0, 0, 0];

  // Training cameras as frusta (OpenCV axes: x right, y down, z forward), depth 4% of the scene's extent.
  const threeScene = new THREE.Scene();
  const frusta = new THREE.Group();
  const d = 0.04 * extent;
  const verts = [];
  for (const c of meta.cameras) {
    const m = c.c2w;
    const world = (x, y, z) => [m[0] * x + m[1] * y + m[2] * z + m[3], m[4] * x + m[5] * y + m[6] * z + m[7], m[8] * x + m[9] * y + m[10] * z + m[11]];
    const o = world(0, 0, 0);
    const corners = [[0, 0], [c.width, 0], [c.width, c.height], [0, c.height]].map(([u, v]) => world((u - c.cx) / c.fx * d, (v - c.cy) / c.fy * d, d));
    for (let i = 0; i < 4; i++) verts.push(...o, ...corners[i], ...corners[i], ...corners[(i + 1) % 4]);
  }
  if (verts.length) {
    const geo = new THREE.BufferGeometry();
    geo.setAttribute('position', new THREE.Float32BufferAttribute(verts, 3));
    frusta.add(new THREE.LineSegments(geo, new THREE.LineBasicMaterial({ color: 0xff9900 })));
  }
  threeScene.add(frusta);

  // First view: from the first training camera, pulled back a little, looking at the scene's centre; up = camera's -y.
  let position = [centre[0], centre[1], centre[2] - extent], up = [0, -1, 0];
  if (meta.cameras.length) {
    const m = meta.cameras[0].c2w;
    const o = [m[3], m[7], m[11]], fwd = [m[2], m[6], m[10]];
    position = o.map((v, k) => v - fwd[k] * 0.15 * extent);
    up = [-m[1], -m[5], -m[9]];
  }
  const viewer = new GS.Viewer({
    rootElement: view,
    threeScene,
    cameraUp: up,
    initialCameraPosition: position,
    initialCameraLookAt: centre,
    selfDrivenMode: true,
    useBuiltInControls: true,
    sharedMemoryForWorkers: false, // report.html opens from file://: no cross-origin isolation, no SharedArrayBuffer
    gpuAcceleratedSort: false,
    renderMode: GS.RenderMode.OnChange,
    sceneRevealMode: GS.SceneRevealMode.Instant,
    sphericalHarmonicsDegree: 0,
    logLevel: GS.LogLevel.Error,
  });
  viewer.start();

  // The splat rows actually loaded: visible instances only, recoloured in instance mode; alpha kept.
  function buildSplat() {
    const keep = [];
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (state.isolated !== null ? id === state.isolated : !state.hidden.has(id)) keep.push(i);
    }
    const out = new Uint8Array(keep.length * ROW);
    keep.forEach((i, j) => {
      out.set(rows.subarray(i * ROW, i * ROW + ROW), j * ROW);
      if (state.mode === 'instance') {
        const [r, g, b] = instanceColor(ids[i]);
        out[j * ROW + 24] = r; out[j * ROW + 25] = g; out[j * ROW + 26] = b;
      }
    });
    return { bytes: out, count: keep.length };
  }

  // Rebuilds serialise: the viewer refuses a load while one is running; the latest wanted state wins.
  let dirty = true, running = false, url = null;
  async function rebuild() {
    if (running) return;
    running = true;
    state.busy = true;
    try {
      while (dirty) {
        dirty = false;
        const { bytes, count } = buildSplat();
        if (viewer.getSceneCount() > 0) await viewer.removeSplatScene(0, false);
        if (url) URL.revokeObjectURL(url);
        url = null;
        if (count > 0) {
          url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
          await viewer.addSplatScene(url, { format: GS.SceneFormat.Splat, showLoadingUI: false, progressiveLoad: false, splatAlphaRemovalThreshold: 1 });
        }
        state.shownGaussians = count;
        state.renders++;
        viewer.forceRenderNextFrame();
      }
      updateList();
      status.textContent = `${state.shownGaussians.toLocaleString('en-US')} of ${meta.total.toLocaleString('en-US')} Gaussians shown` +
        (meta.shown < meta.total ? ` (payload subsampled to ${meta.shown.toLocaleString('en-US')})` : '');
      mark('data-viewer-shown', String(state.shownGaussians));
      mark('data-viewer-renders', String(state.renders));
      mark('data-viewer', 'ready');
    } catch (e) {
      fail(e);
    } finally {
      running = false;
      state.busy = false;
    }
  }

  function updateList() {
    for (const [id, { li, box }] of items) {
      const shown = state.isolated !== null ? id === state.isolated : !state.hidden.has(id);
      li.classList.toggle('isolated', state.isolated === id);
      li.classList.toggle('hidden', !shown);
      box.checked = shown;
    }
  }
  function request() { dirty = true; updateList(); mark('data-viewer', 'loading'); return rebuild(); }
  function isolate(id) { state.isolated = id; return request(); }
  function hide(id, hidden = true) {
    if (state.isolated !== null) { // leaving isolation: everything else becomes visible again
      state.hidden = new Set(meta.instances.map((i) => i.id).filter((i) => i !== state.isolated));
      state.isolated = null;
    }
    if (hidden) state.hidden.add(id); else state.hidden.delete(id);
    return request();
  }
  function showAll() { state.isolated = null; state.hidden.clear(); return request(); }
  function setMode(m) { state.mode = m; mode.value = m; return request(); }
  showCams.addEventListener('change', () => { frusta.visible = showCams.checked; viewer.forceRenderNextFrame(); });

  // Click in the 3D view (not a drag): the nearest Gaussian to the splat the ray hits gives the instance.
  let down = null;
  view.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
  view.addEventListener('pointerup', (e) => {
    if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4 || !viewer.splatMesh) return;
    const id = pick(e);
    if (id === null) return;
    if (e.shiftKey) hide(id, true); else isolate(state.isolated === id ? null : id);
  });
  function pick(e) {
    const rect = view.getBoundingClientRect();
    const hits = [];
    viewer.raycaster.setFromCameraAndScreenPosition(viewer.camera, new THREE.Vector2(e.clientX - rect.left, e.clientY - rect.top),
      new THREE.Vector2(rect.width, rect.height));
    viewer.raycaster.intersectSplatMesh(viewer.splatMesh, hits);
    if (!hits.length) return null;
    return nearestInstance(hits[0].origin.x, hits[0].origin.y, hits[0].origin.z);
  }
  function nearestInstance(x, y, z) {
    let best = -1, bestD = Infinity;
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (state.isolated !== null ? id !== state.isolated : state.hidden.has(id)) continue;
      const dx = positions[i * 8] - x, dy = positions[i * 8 + 1] - y, dz = positions[i * 8 + 2] - z;
      const dd = dx * dx + dy * dy + dz * dz;
      if (dd < bestD) { bestD = dd; best = i; }
    }
    return best < 0 ? null : ids[best];
  }

  // Page coordinates (CSS pixels) of a world point in the current view, for tests that click on an object.
  function project(x, y, z) {
    const v = new THREE.Vector3(x, y, z).project(viewer.camera);
    const rect = view.getBoundingClientRect();
    return { x: rect.left + (v.x + 1) / 2 * rect.width, y: rect.top + (1 - v.y) / 2 * rect.height, visible: Math.abs(v.z) <= 1 };
  }

  const controller = {
    isolate, hide, showAll, setMode, nearestInstance, project,
    pickReady: () => !!(viewer.splatMesh && viewer.splatMesh.getSplatTree()),
    state: () => ({ mode: state.mode, isolated: state.isolated, hidden: [...state.hidden], shown: state.shownGaussians, renders: state.renders, busy: running || dirty }),
    instances: () => [...list.querySelectorAll('li')].map((li) => ({ id: +li.dataset.instance, gaussians: +li.dataset.gaussians })),
    viewer,
  };
  window.uniclift = controller;
  rebuild();
  return controller;
}

/** Decodes base64 (report.html's inlined payload) to an ArrayBuffer. */
export function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** The server page: meta.json and payload.bin from the same origin. */
export async function startFromServer(root) {
  try {
    const [meta, payload] = await Promise.all([
      fetch('data/meta.json').then((r) => { if (!r.ok) throw new Error(`data/meta.json: HTTP ${r.status}`); return r.json(); }),
      fetch('data/payload.bin').then((r) => { if (!r.ok) throw new Error(`data/payload.bin: HTTP ${r.status}`); return r.arrayBuffer(); }),
    ]);
    return start(root, meta, payload);
  } catch (e) {
    document.body.setAttribute('data-viewer', 'error');
    document.body.setAttribute('data-viewer-error', String(e && e.message || e));
    console.error('uniclift viewer:', e);
    return null;
  }
}
