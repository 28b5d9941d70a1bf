// The sandbox's page: a small Slack client for every person of the
// built-in workspace. It asks /api/state for what one person sees, sends
// what they do to /api/act, and refetches when /api/events says something
// changed. Block Kit is drawn by blockkit.js.
(function () {
  'use strict';
  const { h } = BlockKit;
  const $ = (id) => document.getElementById(id);

  const S = {
    me: localStorage.getItem('sandbox.me') || '',
    open: localStorage.getItem('sandbox.open') || 'dm', // "dm", "home" or a channel id
    thread: null, // {channel, ts}
    state: null,
    sigs: new Map(), // message key -> JSON it was drawn from
    modalKey: '',
    homeKey: '',
    loading: false,
    again: false,
    want: new URLSearchParams(location.search).get('as'), // ?as=EMAIL or a user id
  };

  // ---- talking to the sandbox ----

  async function act(body) {
    const res = await fetch('/api/act', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(Object.assign({ as: S.me }, body)),
    });
    let out;
    try { out = await res.json(); } catch (e) { out = { ok: false, error: `the sandbox answered ${res.status}` }; }
    // Typing only updates the form's state in Slack: nobody is told when
    // that lands on a form that has just closed.
    if (!out.ok && !body.quiet) toast(out.error || 'Something went wrong');
    else if (out.ok && !body.quiet) $('toasts').replaceChildren();
    load();
    return out;
  }

  async function load() {
    if (S.loading) { S.again = true; return; }
    S.loading = true;
    try {
      const res = await fetch('/api/state?as=' + encodeURIComponent(S.me));
      S.state = await res.json();
      if (S.want) {
        const w = S.state.users.find((u) => u.id === S.want || u.email === S.want.toLowerCase());
        S.want = null;
        if (w && w.id !== S.me) {
          S.me = w.id;
          localStorage.setItem('sandbox.me', S.me);
          S.loading = false;
          return load();
        }
      }
      if (!S.state.users.some((u) => u.id === S.me)) {
        S.me = (S.state.tour.requester_id || (S.state.users[0] || {}).id || '');
        localStorage.setItem('sandbox.me', S.me);
        S.loading = false;
        return load();
      }
      draw();
    } catch (e) {
      $('clock').textContent = 'sandbox stopped?';
    } finally {
      S.loading = false;
      if (S.again) { S.again = false; load(); }
    }
  }

  function listen() {
    const es = new EventSource('/api/events');
    es.addEventListener('changed', () => load());
  }

  // ---- helpers ----

  const usersById = () => Object.fromEntries(S.state.users.concat([S.state.bot]).map((u) => [u.id, u]));
  const meUser = () => S.state.users.find((u) => u.id === S.me) || {};
  const dm = () => S.state.conversations.find((c) => c.kind === 'dm');
  const conv = (id) => S.state.conversations.find((c) => c.id === id);
  const currentConv = () => (S.open === 'dm' || S.open === 'home' ? dm() : conv(S.open) || dm());

  function ctxFor(extra) {
    const st = S.state;
    return Object.assign({
      users: usersById(),
      channels: Object.fromEntries(st.conversations.filter((c) => c.kind === 'channel').map((c) => [c.id, c.name])),
      tz: meUser().tz || 'UTC', now: st.now,
      confirm: confirmDialog,
    }, extra);
  }

  function fmtTime(ts) {
    const d = new Date(parseFloat(ts) * 1000);
    const tz = meUser().tz || 'UTC';
    const now = new Date(S.state.now);
    const day = (x) => new Intl.DateTimeFormat('en-US', { timeZone: tz, month: 'short', day: 'numeric' }).format(x);
    const time = new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
    return day(d) === day(now) ? time : `${day(d)}, ${time}`;
  }

  function initials(name) {
    return (name || '?').split(/\s+/).map((w) => w[0]).join('').slice(0, 2).toUpperCase();
  }

  function hue(s) { let x = 0; for (const c of s || '') x = (x * 31 + c.charCodeAt(0)) % 360; return x; }

  function avatar(u, bot) {
    if (bot) return h('div', { class: 'avatar bot', 'aria-hidden': 'true' }, '🔑');
    return h('div', { class: 'avatar', style: `background:hsl(${hue(u.id)},45%,45%)`, 'aria-hidden': 'true' }, initials(u.real_name));
  }

  function toast(msg) {
    const t = h('div', { class: 'toast', role: 'alert' }, h('b', {}, 'Slack: '), msg,
      h('button', { class: 'ghost', 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×'));
    $('toasts').append(t);
    setTimeout(() => t.remove(), 8000);
  }

  function confirmDialog(c) {
    return new Promise((resolve) => {
      const done = (v) => { back.remove(); resolve(v); };
      const back = h('div', { class: 'modal-back confirm' },
        h('div', { class: 'modal small', role: 'dialog', 'aria-modal': 'true' },
          h('div', { class: 'modal-title' }, BlockKit.textEl(c.title, ctxFor())),
          h('div', { class: 'modal-body' }, BlockKit.textEl(c.text, ctxFor())),
          h('div', { class: 'modal-foot' },
            h('button', { class: 'bk-btn', onclick: () => done(false) }, BlockKit.textEl(c.deny || 'Cancel', ctxFor())),
            h('button', { class: 'bk-btn ' + (c.style === 'danger' ? 'bk-danger' : 'bk-primary'), onclick: () => done(true) },
              BlockKit.textEl(c.confirm || 'Confirm', ctxFor())))));
      document.body.append(back);
    });
  }

  // ---- drawing ----

  function draw() {
    const st = S.state;
    if (S.open !== 'dm' && S.open !== 'home' && !conv(S.open)) S.open = 'dm'; // a channel of another configuration
    document.title = `${meUser().real_name || 'sandbox'} · accessbot sandbox`;
    $('ws-name').textContent = st.workspace;
    $('bind').textContent = st.addr ? `local only · ${st.addr}` : 'local only';
    if (st.addr && !/^(127\.|localhost|\[::1\])/.test(st.addr)) {
      $('bind').textContent = `open to the network · ${st.addr} · no login`;
      $('bind').classList.add('warn');
    }
    drawPicker();
    drawClock();
    drawSidebar();
    drawMain();
    drawThread();
    drawModal();
    drawTour();
  }

  function drawPicker() {
    const sel = $('as');
    const sig = S.state.users.map((u) => u.id).join() + '|' + S.me;
    if (sel.dataset.sig === sig) return;
    sel.dataset.sig = sig;
    sel.replaceChildren(...S.state.users.map((u) => h('option', { value: u.id, selected: u.id === S.me }, `${u.real_name} · ${u.email}`)));
  }

  function drawClock() {
    const st = S.state;
    const now = new Date(st.now);
    const tz = meUser().tz || 'UTC';
    const t = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }).format(now);
    const sk = st.skipped_seconds;
    const ahead = sk ? ` · ${sk >= 86400 ? Math.floor(sk / 86400) + 'd ' : ''}${Math.floor((sk % 86400) / 3600)}h ahead` : '';
    $('clock').textContent = `🕐 ${t} (${tz})${ahead}`;
    $('clock').classList.toggle('ahead', !!sk);
  }

  function unread(c) {
    const seen = localStorage.getItem(`sandbox.seen.${S.me}.${c.id}`) || '';
    return c.messages.filter((m) => m.ts > seen && !m.thread_ts && !(m.user === S.me)).length;
  }

  function markSeen(c) {
    const last = c.messages.length ? c.messages[c.messages.length - 1].ts : '';
    localStorage.setItem(`sandbox.seen.${S.me}.${c.id}`, last);
  }

  function drawSidebar() {
    const st = S.state;
    const item = (key, label, icon, count, title) => h('button', {
      class: 'side-item' + (S.open === key ? ' active' : '') + (count ? ' unread' : ''), 'data-open': key, title,
      onclick: () => openConv(key),
    }, h('span', { class: 'side-icon' }, icon), h('span', { class: 'side-label' }, label),
    count ? h('span', { class: 'badge' }, String(count)) : null);
    const d = dm();
    const channels = st.conversations.filter((c) => c.kind === 'channel');
    // Drawn again only when it changes, so a click never lands on a node
    // that is being replaced.
    const sig = JSON.stringify([S.open, S.me, st.connected, meUser().real_name,
      S.open === 'dm' ? 0 : unread(d), channels.map((c) => [c.id, c.name, S.open === c.id ? 0 : unread(c)])]);
    if ($('sidebar').dataset.sig === sig) return;
    $('sidebar').dataset.sig = sig;
    $('sidebar').replaceChildren(
      h('div', { class: 'side-head' }, h('div', { class: 'side-ws' }, st.workspace),
        h('div', { class: 'side-me' }, h('span', { class: 'dot' + (st.connected ? ' on' : '') }), meUser().real_name)),
      h('div', { class: 'side-section' }, 'Apps'),
      item('home', `${st.bot.name} · Home`, '🏠', 0, 'The App Home: what waits on you'),
      item('dm', `${st.bot.name} · Messages`, '🔑', S.open === 'dm' ? 0 : unread(d), 'Your direct messages with the bot'),
      h('div', { class: 'side-section' }, 'Channels'),
      ...(channels.length ? channels.map((c) => item(c.id, c.name, '#', S.open === c.id ? 0 : unread(c), 'An app channel: provisioning cards are posted here'))
        : [h('div', { class: 'side-none' }, 'no app channels')]),
      h('div', { class: 'side-foot' }, 'Everything here runs on this machine: the real bot, its database ',
        'and a built-in Slack workspace.'));
  }

  function openConv(key) {
    S.open = key;
    S.thread = null;
    localStorage.setItem('sandbox.open', key);
    S.sigs.clear();
    $('messages').replaceChildren();
    S.homeKey = '';
    if (key === 'home') act({ kind: 'home' });
    draw();
  }

  function drawMain() {
    const st = S.state;
    const home = S.open === 'home';
    const c = currentConv();
    const headSig = JSON.stringify([S.open, c.id, S.me]);
    const sameHead = $('conv-head').dataset.sig === headSig;
    $('conv-head').dataset.sig = headSig;
    if (!sameHead) $('conv-head').replaceChildren(home
      ? h('div', {}, h('b', {}, `🔑 ${st.bot.name}`), h('span', { class: 'app-badge' }, 'APP'))
      : c.kind === 'dm'
        ? h('div', {}, h('b', {}, `🔑 ${st.bot.name}`), h('span', { class: 'app-badge' }, 'APP'),
          h('span', { class: 'sub' }, ' · your direct messages with the bot'))
        : h('div', {}, h('b', {}, `# ${c.name}`), h('span', { class: 'sub' }, ' · app channel')));
    if (!sameHead) $('tabs').replaceChildren(...(home || c.kind === 'dm' ? [
      h('button', { class: 'tab' + (home ? ' active' : ''), onclick: () => openConv('home') }, 'Home'),
      h('button', { class: 'tab' + (!home ? ' active' : ''), onclick: () => openConv('dm') }, 'Messages'),
    ] : []));
    $('composer').hidden = home;
    if (home) { drawHome(); return; }
    S.homeKey = '';
    const box = $('messages');
    box.classList.remove('home');
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const top = c.messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    const replies = {};
    for (const m of c.messages) if (m.thread_ts && m.thread_ts !== m.ts) (replies[m.thread_ts] = replies[m.thread_ts] || []).push(m);
    if (!top.length) {
      box.replaceChildren(h('div', { class: 'empty' }, c.kind === 'dm'
        ? ['This is the start of your conversation with ', h('b', {}, st.bot.name), '. Type ', h('code', {}, '/access request'), ' below to ask for access.']
        : 'Nothing posted here yet: provisioning cards for this channel\'s apps appear here.'));
      S.sigs.clear();
    } else {
      const keep = new Set();
      const nodes = top.map((m) => {
        const key = c.id + '/' + m.ts;
        keep.add(key);
        const sig = JSON.stringify([m, (replies[m.ts] || []).length, S.me, S.thread && S.thread.ts, st.now.slice(0, 13)]); // dates say "today"
        let node = box.querySelector(`[data-key="${CSS.escape(key)}"]`);
        if (!node || S.sigs.get(key) !== sig) {
          const fresh = drawMessage(c, m, replies[m.ts] || [], false);
          fresh.dataset.key = key;
          if (node) { node.replaceWith(fresh); fresh.classList.add('flash'); }
          node = fresh;
          S.sigs.set(key, sig);
        }
        return node;
      });
      box.querySelectorAll('.empty').forEach((n) => n.remove());
      nodes.forEach((n, i) => { if (box.children[i] !== n) box.insertBefore(n, box.children[i] || null); });
      while (box.children.length > nodes.length) box.lastChild.remove();
      for (const k of [...S.sigs.keys()]) if (!keep.has(k)) S.sigs.delete(k);
    }
    if (atBottom) box.scrollTop = box.scrollHeight;
    markSeen(c);
    $('compose').placeholder = c.kind === 'dm' ? `Message ${st.bot.name} — try /access request` : `Message #${c.name}`;
    $('compose-hint').replaceChildren('Enter sends · Shift+Enter for a new line · ',
      ...st.commands.flatMap((cmd, i) => [i ? ' and ' : '', h('code', {}, cmd + ' …')]), ' work here as in Slack');
  }

  function drawMessage(c, m, replies, inThread) {
    const users = usersById();
    const u = users[m.user] || { id: m.user, real_name: m.user };
    const body = h('div', { class: 'msg-body' });
    const ctx = ctxFor({
      onAction: (a) => act({ kind: a.type === 'button' ? 'click' : 'select', channel: c.id, ts: m.ts,
        action: `${a.block_id}/${a.action_id}`, values: a.values }),
    });
    body.append(m.blocks && m.blocks.length ? BlockKit.render(m.blocks, ctx) : h('div', { class: 'bk', html: BlockKit.mrkdwn(m.text, ctx) }));
    const el = h('div', { class: 'msg' + (m.ephemeral ? ' ephemeral' : ''), 'data-ts': m.ts },
      avatar(u, m.bot),
      h('div', { class: 'msg-main' },
        h('div', { class: 'msg-meta' }, h('b', {}, m.bot ? S.state.bot.name : u.real_name),
          m.bot ? h('span', { class: 'app-badge' }, 'APP') : null,
          h('span', { class: 'msg-time' }, fmtTime(m.ts)),
          m.edits ? h('span', { class: 'msg-edited' }, '(edited)') : null),
        m.ephemeral ? h('div', { class: 'only-you' }, '👁 Only visible to you') : null,
        body,
        !inThread && !m.ephemeral ? h('div', { class: 'msg-thread' },
          replies.length
            ? h('button', { class: 'link', onclick: () => openThread(c.id, m.ts) }, `💬 ${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`)
            : h('button', { class: 'link quiet', onclick: () => openThread(c.id, m.ts) }, 'Reply in thread')) : null));
    return el;
  }

  function openThread(channel, ts) {
    S.thread = { channel, ts };
    S.sigs.clear();
    draw();
    const input = $('thread').querySelector('textarea');
    if (input) input.focus();
  }

  function drawThread() {
    const pane = $('thread');
    if (!S.thread || S.open === 'home') { pane.hidden = true; return; }
    const c = conv(S.thread.channel);
    const msgs = c ? c.messages.filter((m) => m.ts === S.thread.ts || m.thread_ts === S.thread.ts) : [];
    if (!msgs.length) { pane.hidden = true; return; }
    pane.hidden = false;
    const typed = pane.querySelector('textarea') ? pane.querySelector('textarea').value : '';
    const sig = JSON.stringify([msgs, S.me]);
    if (pane.dataset.sig === sig) return;
    pane.dataset.sig = sig;
    const ta = h('textarea', { rows: 2, placeholder: 'Reply…', 'aria-label': 'Reply in thread' });
    ta.value = typed;
    const form = h('form', { class: 'thread-composer', onsubmit: (ev) => { ev.preventDefault(); sendText(ta, c.id, S.thread.ts); } },
      ta, h('button', { type: 'submit' }, 'Reply'));
    enterSends(ta, form);
    pane.replaceChildren(
      h('div', { class: 'thread-head' }, h('b', {}, 'Thread'), h('span', { class: 'sub' }, c.kind === 'dm' ? ` · ${S.state.bot.name}` : ` · #${c.name}`),
        h('button', { class: 'ghost close', 'aria-label': 'Close thread', onclick: () => { S.thread = null; S.sigs.clear(); draw(); } }, '×')),
      h('div', { class: 'thread-msgs' }, drawMessage(c, msgs[0], [], true),
        h('div', { class: 'thread-count' }, `${msgs.length - 1} ${msgs.length === 2 ? 'reply' : 'replies'}`),
        msgs.slice(1).map((m) => drawMessage(c, m, [], true))),
      form);
    const list = pane.querySelector('.thread-msgs');
    list.scrollTop = list.scrollHeight;
  }

  function drawHome() {
    const box = $('messages');
    box.classList.add('home');
    const home = S.state.home;
    if (!home) {
      S.homeKey = '';
      box.replaceChildren(h('div', { class: 'empty' }, 'Opening the App Home… (the bot publishes it when you open the tab)'));
      return;
    }
    const v = home.view;
    const key = JSON.stringify([v.id, v.hash, home.errors, S.me]);
    if (S.homeKey === key) return;
    S.homeKey = key;
    const ctx = ctxFor({
      values: (v.state || {}).values || {}, errors: home.errors || {},
      onAction: (a) => act({ kind: a.type === 'button' ? 'vclick' : 'vselect', view: v.id, action: `${a.block_id}/${a.action_id}`, values: a.values }),
    });
    const scroll = box.scrollTop;
    box.replaceChildren(h('div', { class: 'home-view' }, BlockKit.render(v.blocks, ctx)));
    box.scrollTop = scroll;
  }

  function drawModal() {
    const root = $('modal-root');
    const stack = S.state.modals;
    if (!stack.length) { root.replaceChildren(); S.modalKey = ''; return; }
    const top = stack[stack.length - 1];
    const v = top.view;
    const key = JSON.stringify([v.id, v.hash, top.errors, stack.length, S.me]);
    if (S.modalKey === key) return;
    S.modalKey = key;
    const inputs = {};
    const ctx = ctxFor({
      values: (v.state || {}).values || {}, errors: top.errors || {}, inputs,
      onAction: (a) => act({ kind: a.type === 'button' ? 'vclick' : 'vselect', view: v.id, action: `${a.block_id}/${a.action_id}`, values: a.values,
        quiet: a.type === 'plain_text_input' && a.inInput && !a.dispatch }),
      suggest: async (block, action, query) => (await act({ kind: 'suggest', view: v.id, action: `${block}/${action}`, query })).options || [],
    });
    const close = () => act({ kind: 'close', view: v.id });
    const submit = async (ev) => {
      if (ev) ev.preventDefault();
      const values = {};
      for (const [block, get] of Object.entries(inputs)) { const x = get(); if (x !== null) values[block] = x; }
      const btn = root.querySelector('.modal-submit');
      if (btn) btn.classList.add('bk-busy');
      const missing = requiredMissing(v, values);
      if (missing) { if (btn) btn.classList.remove('bk-busy'); markMissing(root, missing); return; }
      await act({ kind: 'submit', view: v.id, inputs: values });
    };
    const t = BlockKit.textEl;
    const modal = h('form', { class: 'modal', role: 'dialog', 'aria-modal': 'true', onsubmit: submit },
      h('div', { class: 'modal-title' },
        stack.length > 1 ? h('button', { type: 'button', class: 'ghost back', 'aria-label': 'Back', onclick: close }, '‹') : null,
        h('span', { class: 'modal-app' }, '🔑'), t(v.title, ctx),
        h('button', { type: 'button', class: 'ghost close', 'aria-label': 'Close', onclick: close }, '×')),
      h('div', { class: 'modal-body' }, BlockKit.render(v.blocks, ctx)),
      h('div', { class: 'modal-foot' },
        stack.length > 1 ? h('span', { class: 'stack-note' }, `${stack.length} windows open`) : null,
        h('button', { type: 'button', class: 'bk-btn', onclick: close }, t(v.close || 'Cancel', ctx)),
        v.submit ? h('button', { type: 'submit', class: 'bk-btn bk-primary modal-submit' }, t(v.submit, ctx)) : null));
    const layers = stack.slice(0, -1).map((_, i) => h('div', { class: 'modal-layer', style: `transform: translate(${-(stack.length - 1 - i) * 10}px, ${-(stack.length - 1 - i) * 10}px)` }));
    root.replaceChildren(h('div', { class: 'modal-back' }, h('div', { class: 'modal-stack' }, layers, modal)));
    const first = modal.querySelector('.modal-body input, .modal-body textarea, .modal-body select');
    if (first && !document.activeElement.closest('.modal')) first.focus({ preventScroll: true });
  }

  // requiredMissing is the block_id of a required input left empty: Slack's
  // client does not submit then, and says so under the field.
  function requiredMissing(v, values) {
    for (const b of v.blocks || []) {
      if (b.type !== 'input' || b.optional) continue;
      const x = values[b.block_id];
      if (!x || !x.length || (x.length === 1 && x[0] === '')) return b.block_id;
    }
    return '';
  }

  function markMissing(root, blockID) {
    const block = root.querySelector(`[data-block-id="${CSS.escape(blockID)}"]`);
    if (!block) return;
    block.classList.add('bk-has-error');
    block.querySelectorAll('.bk-error').forEach((e) => e.remove());
    block.append(h('div', { class: 'bk-error', role: 'alert' }, 'Please complete this required field.'));
  }

  // ---- the composer ----

  function enterSends(ta, form) {
    ta.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
    });
  }

  async function sendText(ta, channel, thread) {
    const text = ta.value;
    if (!text.trim()) return;
    ta.disabled = true;
    try {
      const out = await act({ kind: 'send', channel, thread: thread || '', text });
      if (out.ok) ta.value = '';
    } finally {
      ta.disabled = false;
      ta.focus();
    }
  }

  // ---- the guided tour ----

  function tourSteps() {
    const t = S.state.tour;
    const name = (id) => ((S.state.users.find((u) => u.id === id) || {}).real_name || '');
    const be = (id, label) => (id && id !== S.me ? h('button', { class: 'bk-btn bk-primary', onclick: () => switchTo(id, 'dm') }, label || `Be ${name(id)}`) : null);
    const typeIt = (text) => h('button', { class: 'bk-btn', onclick: () => { switchTo(t.requester_id || S.me, 'dm'); $('compose').value = text; $('compose').focus(); } }, 'Type it for me');
    const req = t.app ? `/access request ${t.app}${t.duration ? ' ' + t.duration : ''}` : '/access request';
    return [
      { title: 'Welcome to the accessbot sandbox',
        body: ['This is the real accessbot — its engine, database, outbox and scheduler — talking to a built-in Slack workspace on this machine. ',
          'Every person of the configuration is here: pick who you are at the top, at any time.'] },
      { title: 'Ask for access',
        body: [t.requester_id ? ['You are ', h('b', {}, name(t.requester_id)), '. '] : '', 'In the ', h('b', {}, 'Messages'), ' tab type ', h('code', {}, req),
          ' and press Enter. Fill in the form (a reason is required) and press ', h('b', {}, 'Submit'), '.'],
        actions: [be(t.requester_id), typeIt(req)] },
      { title: 'Approve as the manager',
        body: [t.manager_id ? ['Switch to ', h('b', {}, name(t.manager_id)), ', the requester\'s manager. '] : 'Switch to the requester\'s manager. ',
          'A card waits in their DM with the bot: press ', h('b', {}, 'Approve'), '. The requester\'s card changes too — open a second tab as them to watch.'],
        actions: [be(t.manager_id)] },
      { title: 'Provision as the provisioner',
        body: [t.provisioner_id ? ['Switch to ', h('b', {}, name(t.provisioner_id)), (t.app_name ? `, who provisions ${t.app_name}` : ''), '. '] : 'Switch to the app\'s provisioner. ',
          'Grant the access (pretend), then press ', h('b', {}, 'Provisioned'), ' — or reply ', h('code', {}, 'done'), ' in the card\'s thread.'],
        actions: [be(t.provisioner_id)] },
      { title: 'Let time pass',
        body: ['Use ', h('b', {}, '+1 hour'), ' and ', h('b', {}, '+1 day'), ' at the top: the sandbox\'s clock moves and the scheduler runs at once — reminders, escalations, expiry warnings, and at expiry a deprovisioning task.',
          ' The ', h('b', {}, 'Home'), ' tab lists what waits on each person.'] },
    ];
  }

  function switchTo(id, open) {
    if (!id) return;
    S.me = id;
    localStorage.setItem('sandbox.me', id);
    S.modalKey = '';
    openConv(open || S.open);
    load();
  }

  function drawTour() {
    const box = $('tour');
    if (localStorage.getItem('sandbox.tour') === 'done') { box.hidden = true; return; }
    const steps = tourSteps();
    const i = Math.min(parseInt(localStorage.getItem('sandbox.tour.step') || '0', 10) || 0, steps.length - 1);
    const sig = i + '|' + S.me + '|' + S.state.users.length;
    if (box.dataset.sig === sig && !box.hidden) return;
    box.dataset.sig = sig;
    const step = steps[i];
    const go = (n) => { localStorage.setItem('sandbox.tour.step', String(n)); box.dataset.sig = ''; drawTour(); };
    box.hidden = false;
    box.replaceChildren(
      h('div', { class: 'tour-head' }, h('span', { class: 'tour-step' }, `Tour · ${i + 1} of ${steps.length}`),
        h('button', { class: 'ghost close', id: 'tour-dismiss', 'aria-label': 'Dismiss the tour', onclick: () => { localStorage.setItem('sandbox.tour', 'done'); box.hidden = true; } }, '×')),
      h('h2', {}, step.title), h('p', {}, step.body),
      h('div', { class: 'tour-actions' }, step.actions || [],
        h('span', { class: 'spacer' }),
        i > 0 ? h('button', { class: 'bk-btn', onclick: () => go(i - 1) }, 'Back') : null,
        i < steps.length - 1 ? h('button', { class: 'bk-btn bk-primary', id: 'tour-next', onclick: () => go(i + 1) }, 'Next')
          : h('button', { class: 'bk-btn bk-primary', onclick: () => { localStorage.setItem('sandbox.tour', 'done'); box.hidden = true; } }, 'Done')));
  }

  // ---- wiring ----

  $('as').addEventListener('change', (ev) => switchTo(ev.target.value));
  $('skip-1h').addEventListener('click', () => act({ kind: 'skip', by: '1h' }));
  $('skip-1d').addEventListener('click', () => act({ kind: 'skip', by: '1d' }));
  $('tour-open').addEventListener('click', () => { localStorage.removeItem('sandbox.tour'); localStorage.setItem('sandbox.tour.step', '0'); $('tour').dataset.sig = ''; drawTour(); });
  const form = $('composer');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); sendText($('compose'), currentConv().id, ''); });
  enterSends($('compose'), form);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && S.state && S.state.modals.length) act({ kind: 'close', view: S.state.modals[S.state.modals.length - 1].view.id });
  });
  if (S.open === 'home' && S.me) act({ kind: 'home' });
  load();
  listen();
})();
