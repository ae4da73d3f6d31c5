// The console's entry point: load the catalogue and limits, sign in with a pasted key, then show
// the Create and Tasks panels.

import { ApiError, createApi } from "./api.js";
import { createPanel } from "./create.js";
import { byId, errorBox, fill } from "./dom.js";
import { draftSlot } from "./drafts.js";
import { forgetKey, maskKey, saveKey, savedKey } from "./session.js";
import { taskPanel } from "./tasks.js";

let key = savedKey();
const api = createApi(() => key);

const signin = byId("signin");
const workspace = byId("workspace");
const keyBadge = byId("key-badge");
const signOutButton = byId("sign-out");
const tasksLink = byId("tasks-link");
const bootProblem = byId("boot-problem");

let tasks = null;
let panel = null;

async function boot() {
  let catalogue;
  let limits;
  try {
    [catalogue, limits] = await Promise.all([api.models(), api.limits()]);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    fill(bootProblem, errorBox(error, "The console could not load the model catalogue"));
    bootProblem.hidden = false;
    return;
  }
  tasks = taskPanel({
    api,
    onUnauthorized: () => signOut("Your key was refused; sign in again."),
    onReuse: (settings) => panel?.reuse(settings),
    onChange: () => refreshBalance(),
    backendOf: (task) => limits.backends?.[task.type]?.[task.model] ?? "",
  });
  const startPanel = () => {
    panel ??= createPanel({
      api,
      catalogue,
      limits,
      onCreated: (created) => {
        tasks.created(created);
        refreshBalance();
      },
      onUnauthorized: () => signOut("Your key was refused; sign in again."),
    });
  };
  byId("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = /** @type {HTMLInputElement} */ (byId("api-key"));
    const candidate = input.value.trim();
    if (!candidate) return;
    const button = /** @type {HTMLButtonElement} */ (byId("signin-button"));
    button.disabled = true;
    key = candidate;
    try {
      await api.listTasks(1);
      saveKey(candidate);
      input.value = "";
      fill(byId("signin-problem"));
      showWorkspace(startPanel);
      // the keyboard focus goes to the first control of the workspace, not back to <body>
      /** @type {HTMLElement | null} */ (document.querySelector('#kind-switch [aria-selected="true"]'))?.focus();
    } catch (error) {
      key = null;
      if (!(error instanceof ApiError)) throw error;
      fill(byId("signin-problem"), errorBox(error, "That key was not accepted"));
    } finally {
      button.disabled = false;
    }
  });
  signOutButton.addEventListener("click", () => signOut());
  if (key) showWorkspace(startPanel);
  else showSignin();
}

/** The key's credits left, shown beside the price; a task it cannot afford is explained before sending. */
async function refreshBalance() {
  const asked = key;
  try {
    const credits = await api.credits();
    const left = credits.remains?.[0]?.credit_remain;
    if (key === asked && typeof left === "number") panel?.setBalance(left);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // the balance is a help, not a requirement: the server still refuses what the key cannot pay
  }
}

function showWorkspace(startPanel) {
  startPanel();
  panel?.signedIn(draftSlot(key ?? ""));
  refreshBalance();
  signin.hidden = true;
  workspace.hidden = false;
  keyBadge.textContent = `key ${maskKey(key ?? "")}`;
  keyBadge.hidden = false;
  signOutButton.hidden = false;
  tasksLink.hidden = false;
  tasks?.start();
}

function showSignin(message) {
  workspace.hidden = true;
  signin.hidden = false;
  keyBadge.hidden = true;
  signOutButton.hidden = true;
  tasksLink.hidden = true;
  fill(byId("signin-note"), message ?? "");
  /** @type {HTMLInputElement} */ (byId("api-key")).focus();
}

function signOut(message) {
  key = null;
  forgetKey();
  tasks?.stop();
  panel?.signedOut();
  showSignin(message);
}

boot();
