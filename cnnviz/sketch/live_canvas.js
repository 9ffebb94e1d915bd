// The Sketch page's companion to streamlit-drawable-canvas (a Streamlit components v2 component, no UI of its own).
//
// streamlit-drawable-canvas sends its drawing only when the mouse is released. This script finds that canvas's
// Fabric.js canvases on the page (they live in the canvas component's shadow root): the lower one holds the
// finished strokes on the black background, the upper one the stroke being drawn. While the mouse is down it
// sends both, composed into one 280x280 PNG (state "frame": {seq, png}), at most every FRAME_MS and only once
// Python has read the previous frame (it passes the number of the last frame it read as data "answered"; after
// ANSWER_WAIT_MS without an answer the next frame goes anyway). So a busy server gets one frame at a time
// instead of a queue of reruns in front of the released stroke. On release it sends nothing itself: it has the
// canvas send the released stroke at once instead of after its 200 ms debounce, and Python retires the frames
// when that stroke arrives. (A "released" frame sent at the same moment put two widgets' updates in one
// Streamlit batch, which reran only one fragment when they sat in two: the released stroke was now and then
// not read.)
//
// It also makes "Clear the canvas" (a Streamlit button) clear the canvas in the browser, at the click: it
// presses the canvas's own "Reset canvas & history" tool, so a stroke drawn straight after the click lands on
// the cleared canvas. (Clearing through a new initial drawing from the server reached the canvas a round trip
// later and wiped a stroke drawn in between.) State "armed" tells Python that the browser does the clearing.
//
// Everything degrades silently: until (or unless) the canvas is found, nothing is sent and Clear stays Python's.
// A stroke already under way when the canvas is found is followed from its next move (a learner who draws as
// soon as the page shows, and one CI run, pressed before the script's first successful look).
const FRAME_MS = 200;
const ANSWER_WAIT_MS = 2000;
const LOOK_EVERY_MS = 300;
const STATES = new WeakMap();

function findCanvasRoot(canvasKey) {
  const host = document.querySelector(`.st-key-${canvasKey}`);
  for (const element of (host || document).querySelectorAll("*")) {
    const root = element.shadowRoot && element.shadowRoot.querySelector(".dc-root");
    if (root) return root;
  }
  return null;
}

function composeFrame(state) {
  const lower = state.root.querySelector("canvas.dc-canvas");
  const upper = state.root.querySelector("canvas.upper-canvas");
  if (!lower || !upper) return null;
  const frame = state.frameCanvas || (state.frameCanvas = document.createElement("canvas"));
  frame.width = lower.width;
  frame.height = lower.height;
  const context = frame.getContext("2d");
  context.drawImage(lower, 0, 0);
  context.drawImage(upper, 0, 0, lower.width, lower.height);
  return frame.toDataURL("image/png");
}

function sendFrame(state) {
  const now = performance.now();
  const unanswered = state.seq > (Number(state.data.answered) || 0);
  if (now - state.lastSent < (unanswered ? ANSWER_WAIT_MS : FRAME_MS)) return;
  const png = composeFrame(state);
  if (png === null) return;
  state.seq += 1;
  state.lastSent = now;
  state.setStateValue("frame", { seq: state.seq, png });
}

function attach(state) {
  const root = findCanvasRoot(state.data.canvasKey);
  const upper = root && root.querySelector("canvas.upper-canvas");
  if (!upper) return false;
  state.root = root;
  state.upper = upper;
  const begin = () => {
    state.down = true;
    state.lastSent = performance.now(); // the first frame after a little ink, not on the bare press
  };
  state.onDown = (event) => {
    if (event.button === 0) begin();
  };
  state.onMove = (event) => {
    if (state.down) {
      sendFrame(state);
    } else if ((event.buttons & 1) === 1 && event.composedPath().includes(upper)) {
      begin(); // a stroke begun before this script found the canvas (see LOOK_EVERY_MS): follow it from here
    }
  };
  state.onUp = () => {
    if (!state.down) return;
    state.down = false;
    // The canvas sends a released stroke 200 ms after mouse-up (a debounce); its own "Update the app with
    // this drawing" tool sends it now and cancels the pending send. After this event's handlers (setTimeout),
    // so the canvas has already scheduled that send.
    setTimeout(() => {
      try {
        const send = state.root.querySelector('button[aria-label="Update the app with this drawing"]');
        if (send) send.click();
      } catch (error) {
        // the debounced send still comes
      }
    }, 0);
  };
  upper.addEventListener("pointerdown", state.onDown, { capture: true, passive: true });
  window.addEventListener("pointermove", state.onMove, { passive: true });
  window.addEventListener("pointerup", state.onUp, { passive: true });
  state.onClearClick = (event) => {
    const button = event.target instanceof Element ? event.target.closest(`.st-key-${state.data.clearKey} button`) : null;
    if (!button || !state.data.browserClear) return;
    const reset = state.root.querySelector('button[aria-label="Reset canvas & history"]');
    if (reset) reset.click();
  };
  document.addEventListener("click", state.onClearClick, { capture: true });
  state.setStateValue("armed", true);
  return true;
}

function detach(state) {
  clearInterval(state.looking);
  if (state.upper) {
    state.upper.removeEventListener("pointerdown", state.onDown, { capture: true });
    window.removeEventListener("pointermove", state.onMove);
    window.removeEventListener("pointerup", state.onUp);
    document.removeEventListener("click", state.onClearClick, { capture: true });
  }
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let state = STATES.get(parentElement);
  if (!state) {
    state = { seq: 0, lastSent: 0, down: false, root: null, upper: null, looking: null };
    STATES.set(parentElement, state);
  }
  state.data = data;
  state.setStateValue = setStateValue;
  if (!state.upper && state.looking === null) {
    const look = () => {
      try {
        if (attach(state)) {
          clearInterval(state.looking);
        }
      } catch (error) {
        clearInterval(state.looking); // never an error on the page: the canvas simply is not followed
      }
    };
    state.looking = setInterval(look, LOOK_EVERY_MS);
    look();
  }
  return () => {
    detach(state);
    STATES.delete(parentElement);
  };
}
