// Block Kit, rendered from the JSON the bot sent: the one place the sandbox
// turns blocks into HTML. BLOCKS, ELEMENTS and TEXTS below are the table of
// what is supported; anything else renders as a visible placeholder that
// names it (class bk-unsupported), never as nothing.
//
// BlockKit.render(blocks, ctx) returns an element. ctx:
//   users      {id: {real_name, name}} for mentions and user selects
//   channels   {id: name} for channel links
//   tz, now    the viewer's time zone and the sandbox's clock (dates)
//   values     view.state.values (block_id -> action_id -> value) or {}
//   errors     {block_id: message} under input blocks
//   onAction(a)  a person acted: {block_id, action_id, type, values, inInput}
//   suggest(block_id, action_id, query) -> Promise of [{text, value}]
//   confirm(confirmObject) -> Promise of boolean
//   inputs     filled in: {block_id: () => values} for a submit
(function (global) {
  'use strict';

  const BLOCKS = {
    header: blockHeader,
    section: blockSection,
    context: blockContext,
    divider: blockDivider,
    actions: blockActions,
    input: blockInput,
    image: blockImage,
  };

  const ELEMENTS = {
    button: elButton,
    overflow: elOverflow,
    static_select: elStaticSelect,
    external_select: elExternalSelect,
    users_select: elUsersSelect,
    checkboxes: elCheckboxes,
    radio_buttons: elRadios,
    datepicker: elDatepicker,
    plain_text_input: elTextInput,
    image: elImage,
  };

  const TEXTS = { mrkdwn: true, plain_text: true };

  // Emoji shortcodes the bot uses, and a few common ones.
  const EMOJI = {
    arrow_double_up: '⏫', arrow_right_hook: '↪️', bell: '🔔', bust_in_silhouette: '👤',
    clipboard: '📋', eyes: '👀', fast_forward: '⏩', grey_question: '❔',
    heavy_minus_sign: '➖', heavy_multiplication_x: '✖️', hourglass_flowing_sand: '⏳',
    information_source: 'ℹ️', leftwards_arrow_with_hook: '↩️', mag: '🔍', no_entry_sign: '🚫',
    point_left: '👈', point_right: '👉', rotating_light: '🚨', speech_balloon: '💬', tada: '🎉',
    warning: '⚠️', wastebasket: '🗑️', white_check_mark: '✅', white_circle: '⚪', x: '❌',
    heavy_check_mark: '✔️', lock: '🔒', unlock: '🔓', key: '🔑', clock1: '🕐', calendar: '📅',
    memo: '📝', wave: '👋', thumbsup: '👍', '+1': '👍', thumbsdown: '👎', '-1': '👎', fire: '🔥',
    hourglass: '⌛', stopwatch: '⏱️', alarm_clock: '⏰', red_circle: '🔴', large_green_circle: '🟢',
    large_yellow_circle: '🟡', large_blue_circle: '🔵', hammer_and_wrench: '🛠️', gear: '⚙️',
    link: '🔗', pushpin: '📌', star: '⭐', sparkles: '✨', smile: '😄', slightly_smiling_face: '🙂',
    robot_face: '🤖', shield: '🛡️', door: '🚪', inbox_tray: '📥', outbox_tray: '📤',
    arrows_counterclockwise: '🔄', repeat: '🔁', heavy_plus_sign: '➕', zap: '⚡', sos: '🆘',
  };

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style') el.style.cssText = v; // CSSOM: allowed by the page's CSP
      else if (k === 'html') el.innerHTML = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  function unsupported(kind, type) {
    return h('div', { class: 'bk-unsupported', 'data-type': String(type) },
      `Unsupported Block Kit ${kind}: ${type || '(no type)'}`);
  }

  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  function unescapeSlack(s) {
    return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }

  function emojify(html) {
    return html.replace(/:([a-z0-9_+-]+):/g, (m, name) => {
      if (EMOJI[name]) return `<span class="bk-emoji" title=":${name}:">${EMOJI[name]}</span>`;
      return m;
    });
  }

  // ---- dates: <!date^UNIX^{format}|fallback> ----

  function fmt(d, tz, opts) {
    try {
      return new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: tz || 'UTC' }, opts)).format(d);
    } catch (e) {
      return new Intl.DateTimeFormat('en-US', Object.assign({ timeZone: 'UTC' }, opts)).format(d);
    }
  }

  function dayKey(d, tz) { return fmt(d, tz, { year: 'numeric', month: '2-digit', day: '2-digit' }); }

  function pretty(d, ctx, plain) {
    const now = ctx.now ? new Date(ctx.now) : new Date();
    const k = dayKey(d, ctx.tz);
    if (k === dayKey(now, ctx.tz)) return 'today';
    if (k === dayKey(new Date(now.getTime() - 864e5), ctx.tz)) return 'yesterday';
    if (k === dayKey(new Date(now.getTime() + 864e5), ctx.tz)) return 'tomorrow';
    return plain;
  }

  function formatDate(unix, format, ctx) {
    const d = new Date(unix * 1000);
    const tz = ctx.tz;
    const short = fmt(d, tz, { month: 'short', day: 'numeric', year: 'numeric' });
    const long = fmt(d, tz, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
    const date = fmt(d, tz, { month: 'long', day: 'numeric', year: 'numeric' });
    const tokens = {
      date_num: fmt(d, tz, { year: 'numeric', month: '2-digit', day: '2-digit' }),
      date, date_short: short, date_long: long,
      date_pretty: pretty(d, ctx, date), date_short_pretty: pretty(d, ctx, short),
      date_long_pretty: pretty(d, ctx, long),
      time: fmt(d, tz, { hour: '2-digit', minute: '2-digit', hour12: false }),
      time_secs: fmt(d, tz, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }),
    };
    return format.replace(/\{([a-z_]+)\}/g, (m, t) => (t in tokens ? tokens[t] : m));
  }

  // ---- <...> tokens: mentions, channels, links, dates ----

  function special(inner, ctx) {
    const [target, label] = splitOnce(inner, '|');
    if (target.startsWith('@')) {
      const id = target.slice(1);
      const u = (ctx.users || {})[id];
      const name = u ? (u.real_name || u.name) : (label || id);
      return `<span class="bk-mention" data-user="${esc(id)}">@${esc(name)}</span>`;
    }
    if (target.startsWith('#')) {
      const id = target.slice(1);
      const name = label || (ctx.channels || {})[id] || id;
      return `<span class="bk-mention">#${esc(name)}</span>`;
    }
    if (target.startsWith('!date^')) {
      const parts = target.split('^');
      const unix = parseInt(parts[1], 10);
      if (!isNaN(unix)) {
        const out = formatDate(unix, parts[2] || '{date_short} {time}', ctx);
        return `<time datetime="${new Date(unix * 1000).toISOString()}">${esc(out)}</time>`;
      }
      return esc(unescapeSlack(label || ''));
    }
    if (target.startsWith('!subteam^')) return `<span class="bk-mention">${esc(label || '@group')}</span>`;
    if (target.startsWith('!')) return `<span class="bk-mention">@${esc(target.slice(1))}</span>`;
    const url = unescapeSlack(target);
    if (/^(https?:|mailto:)/i.test(url)) {
      return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(unescapeSlack(label || url))}</a>`;
    }
    return esc(unescapeSlack(inner));
  }

  function splitOnce(s, sep) {
    const i = s.indexOf(sep);
    return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
  }

  // mrkdwn returns HTML for Slack's mrkdwn: *bold*, _italic_, ~strike~,
  // `code`, ```pre```, > quotes, :emoji:, <links|labels>, <@mentions>,
  // <#channels>, <!date^…> and line breaks.
  function mrkdwn(text, ctx) {
    const held = [];
    const hold = (html) => { held.push(html); return `\u0000${held.length - 1}\u0000`; };
    let s = String(text || '');
    s = s.replace(/```([\s\S]*?)```/g, (m, code) => hold(`<pre class="bk-pre">${esc(unescapeSlack(code))}</pre>`));
    s = s.replace(/`([^`\n]+)`/g, (m, code) => hold(`<code>${esc(unescapeSlack(code))}</code>`));
    s = s.replace(/<([^<>\n]+)>/g, (m, inner) => hold(special(inner, ctx)));
    s = esc(unescapeSlack(s));
    const edge = '(^|[\\s(\\u0000>])';
    const end = '(?=$|[\\s.,;:!?)\\u0000<\'"])';
    s = s.replace(new RegExp(edge + '\\*(?=\\S)([^*\\n]*?\\S|\\S)\\*' + end, 'g'), '$1<b>$2</b>');
    s = s.replace(new RegExp(edge + '_(?=\\S)([^_\\n]*?\\S|\\S)_' + end, 'g'), '$1<i>$2</i>');
    s = s.replace(new RegExp(edge + '~(?=\\S)([^~\\n]*?\\S|\\S)~' + end, 'g'), '$1<s>$2</s>');
    s = emojify(s);
    s = s.split('\n').map((line) => (line.startsWith('&gt; ') || line === '&gt;')
      ? `<span class="bk-quote">${line.replace(/^&gt; ?/, '')}</span>` : line).join('\n');
    s = s.replace(/<\/span>\n/g, '</span>').replace(/\n/g, '<br>');
    return s.replace(/\u0000(\d+)\u0000/g, (m, i) => held[+i]);
  }

  function plain(text, emoji) {
    const s = esc(String(text || ''));
    return emoji === false ? s : emojify(s);
  }

  // textHTML renders a text object (or unsupported for an unknown type).
  function textEl(obj, ctx, cls) {
    if (!obj) return null;
    if (typeof obj === 'string') return h('span', { class: cls, html: plain(obj) });
    if (!TEXTS[obj.type]) return unsupported('text object', obj.type);
    const html = obj.type === 'mrkdwn' ? mrkdwn(obj.text, ctx) : plain(obj.text, obj.emoji);
    return h('span', { class: cls, html });
  }

  function textOf(obj) { return obj ? (typeof obj === 'string' ? obj : obj.text || '') : ''; }

  // ---- blocks ----

  function render(blocks, ctx) {
    ctx = Object.assign({ users: {}, channels: {}, values: {}, errors: {}, inputs: {} }, ctx || {});
    const root = h('div', { class: 'bk' });
    for (const b of blocks || []) root.append(renderBlock(b, ctx));
    return root;
  }

  function renderBlock(b, ctx) {
    const fn = b && BLOCKS[b.type];
    if (!fn) return unsupported('block', b && b.type);
    const el = fn(b, ctx);
    el.classList.add('bk-block', 'bk-' + b.type);
    if (b.block_id) el.dataset.blockId = b.block_id;
    return el;
  }

  function blockHeader(b, ctx) { return h('div', {}, textEl(b.text, ctx)); }

  function blockDivider() { return h('hr', {}); }

  function blockSection(b, ctx) {
    const body = h('div', { class: 'bk-section-body' });
    if (b.text) body.append(h('div', { class: 'bk-text' }, textEl(b.text, ctx)));
    if (b.fields && b.fields.length) {
      body.append(h('div', { class: 'bk-fields' }, b.fields.map((f) => h('div', { class: 'bk-field' }, textEl(f, ctx)))));
    }
    const el = h('div', {}, body);
    if (b.accessory) el.append(h('div', { class: 'bk-accessory' }, element(b.accessory, b, ctx, false)));
    return el;
  }

  function blockContext(b, ctx) {
    return h('div', {}, (b.elements || []).map((e) => {
      if (e.type === 'image') return elImage(e);
      return TEXTS[e.type] ? textEl(e, ctx, 'bk-context-text') : unsupported('context element', e.type);
    }));
  }

  function blockActions(b, ctx) {
    return h('div', {}, (b.elements || []).map((e) => element(e, b, ctx, false)));
  }

  function blockImage(b, ctx) {
    return h('figure', {}, b.title ? h('figcaption', {}, textEl(b.title, ctx)) : null, elImage(b));
  }

  function blockInput(b, ctx) {
    const err = (ctx.errors || {})[b.block_id];
    const label = h('label', { class: 'bk-label' }, textEl(b.label, ctx),
      b.optional ? h('span', { class: 'bk-optional' }, ' (optional)') : null);
    const el = h('div', { class: err ? 'bk-has-error' : '' }, label, element(b.element, b, ctx, true));
    if (b.hint) el.append(h('div', { class: 'bk-hint' }, textEl(b.hint, ctx)));
    if (err) el.append(h('div', { class: 'bk-error', role: 'alert' }, err));
    return el;
  }

  // ---- elements ----

  function element(e, block, ctx, inInput) {
    const fn = e && ELEMENTS[e.type];
    if (!fn) return unsupported('element', e && e.type);
    const a = { block_id: block.block_id, action_id: e.action_id, type: e.type, inInput,
      dispatch: !!block.dispatch_action };
    const el = fn(e, ctx, a, stateOf(ctx, a));
    el.classList.add('bk-el', 'bk-' + e.type.replace(/_/g, '-'));
    if (e.action_id) el.dataset.actionId = e.action_id;
    return el;
  }

  function stateOf(ctx, a) {
    const blk = (ctx.values || {})[a.block_id];
    return blk ? blk[a.action_id] : undefined;
  }

  function fire(ctx, a, values) {
    if (ctx.onAction) return ctx.onAction(Object.assign({}, a, { values }));
    return Promise.resolve();
  }

  function elButton(e, ctx, a) {
    const cls = 'bk-btn' + (e.style ? ' bk-' + e.style : '');
    return h('button', {
      type: 'button', class: cls, title: e.accessibility_label || null,
      onclick: async (ev) => {
        const btn = ev.currentTarget;
        if (e.confirm && ctx.confirm && !(await ctx.confirm(e.confirm))) return;
        if (e.url) window.open(e.url, '_blank', 'noopener');
        btn.classList.add('bk-busy');
        try { await fire(ctx, a, []); } finally { btn.classList.remove('bk-busy'); }
      },
    }, textEl(e.text, ctx));
  }

  function elOverflow(e, ctx, a) {
    const menu = h('div', { class: 'bk-menu', hidden: true, role: 'menu' });
    const wrap = h('div', {},
      h('button', { type: 'button', class: 'bk-btn bk-overflow-btn', 'aria-label': 'More actions',
        onclick: (ev) => { ev.stopPropagation(); closeMenus(menu); menu.hidden = !menu.hidden; } }, '⋮'),
      menu);
    for (const o of e.options || []) {
      menu.append(h('button', { type: 'button', role: 'menuitem', class: 'bk-menu-item',
        onclick: async () => {
          menu.hidden = true;
          if (e.confirm && ctx.confirm && !(await ctx.confirm(e.confirm))) return;
          await fire(ctx, a, [o.value]);
        } }, textEl(o.text, ctx)));
    }
    return wrap;
  }

  function closeMenus(except) {
    document.querySelectorAll('.bk-menu').forEach((m) => { if (m !== except) m.hidden = true; });
  }
  document.addEventListener('click', () => closeMenus(null));

  function optionEls(e, selected) {
    const opt = (o) => h('option', { value: o.value, selected: selected === o.value }, textOf(o.text));
    const out = [];
    for (const o of e.options || []) out.push(opt(o));
    for (const g of e.option_groups || []) out.push(h('optgroup', { label: textOf(g.label) }, (g.options || []).map(opt)));
    return out;
  }

  function registerInput(ctx, a, get) {
    if (a.inInput && ctx.inputs) ctx.inputs[a.block_id] = get;
  }

  function elStaticSelect(e, ctx, a, st) {
    const cur = st ? (st.selected_option || {}).value : (e.initial_option || {}).value;
    const sel = h('select', { onchange: () => fire(ctx, a, sel.value ? [sel.value] : []) },
      h('option', { value: '', disabled: true, selected: !cur }, textOf(e.placeholder) || 'Select an item'),
      optionEls(e, cur));
    registerInput(ctx, a, () => (sel.value ? [sel.value] : null));
    return h('div', {}, sel);
  }

  function elUsersSelect(e, ctx, a, st) {
    const cur = st ? st.selected_user : e.initial_user;
    const users = Object.values(ctx.users || {}).sort((x, y) => (x.real_name || '').localeCompare(y.real_name || ''));
    const sel = h('select', { onchange: () => fire(ctx, a, sel.value ? [sel.value] : []) },
      h('option', { value: '', disabled: true, selected: !cur }, textOf(e.placeholder) || 'Select a person'),
      users.map((u) => h('option', { value: u.id, selected: u.id === cur }, `${u.real_name} (@${u.name})`)));
    registerInput(ctx, a, () => (sel.value ? [sel.value] : null));
    return h('div', {}, sel);
  }

  function elExternalSelect(e, ctx, a, st) {
    const cur = st ? st.selected_option : e.initial_option;
    let chosen = cur ? cur.value : '';
    const input = h('input', { type: 'search', placeholder: textOf(e.placeholder) || 'Type to search',
      value: cur ? textOf(cur.text) : '', 'aria-autocomplete': 'list' });
    const list = h('div', { class: 'bk-suggest', hidden: true, role: 'listbox' });
    let timer = null;
    let seq = 0;
    const ask = () => {
      const q = input.value;
      if (q.length < (e.min_query_length === undefined ? 1 : e.min_query_length)) { list.hidden = true; return; }
      const mine = ++seq;
      Promise.resolve(ctx.suggest ? ctx.suggest(a.block_id, a.action_id, q) : []).then((opts) => {
        if (mine !== seq) return;
        list.replaceChildren(...(opts.length ? opts.map((o) => h('button', {
          type: 'button', role: 'option', class: 'bk-menu-item',
          onclick: () => { chosen = o.value; input.value = o.text; list.hidden = true; fire(ctx, a, [o.value]); },
        }, o.text)) : [h('div', { class: 'bk-none' }, 'No matches')]));
        list.hidden = false;
      });
    };
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(ask, 200); });
    input.addEventListener('focus', () => { if (e.min_query_length === 0) ask(); });
    registerInput(ctx, a, () => (chosen ? [chosen] : null));
    return h('div', { class: 'bk-combo' }, input, list);
  }

  function choiceList(e, ctx, a, st, multi) {
    const initial = multi ? (e.initial_options || []).map((o) => o.value)
      : (e.initial_option ? [e.initial_option.value] : []);
    const current = st ? (multi ? (st.selected_options || []).map((o) => o.value)
      : (st.selected_option ? [st.selected_option.value] : [])) : initial;
    const name = 'bk-' + Math.random().toString(36).slice(2);
    const boxes = [];
    const pick = () => boxes.filter((b) => b.checked).map((b) => b.value);
    const wrap = h('div', {});
    for (const o of e.options || []) {
      const box = h('input', { type: multi ? 'checkbox' : 'radio', name, value: o.value,
        checked: current.includes(o.value), onchange: () => fire(ctx, a, pick()) });
      boxes.push(box);
      wrap.append(h('label', { class: 'bk-choice' }, box,
        h('span', {}, textEl(o.text, ctx), o.description ? h('div', { class: 'bk-hint' }, textEl(o.description, ctx)) : null)));
    }
    registerInput(ctx, a, () => (multi || pick().length ? pick() : null));
    return wrap;
  }

  function elCheckboxes(e, ctx, a, st) { return choiceList(e, ctx, a, st, true); }
  function elRadios(e, ctx, a, st) { return choiceList(e, ctx, a, st, false); }

  function elDatepicker(e, ctx, a, st) {
    const cur = st ? st.selected_date : e.initial_date;
    const input = h('input', { type: 'date', value: cur || '', title: textOf(e.placeholder),
      onchange: () => fire(ctx, a, input.value ? [input.value] : []) });
    registerInput(ctx, a, () => (input.value ? [input.value] : null));
    return h('div', {}, input);
  }

  function elTextInput(e, ctx, a, st) {
    const cur = st ? st.value : e.initial_value;
    const attrs = { placeholder: textOf(e.placeholder), maxlength: e.max_length || null,
      minlength: e.min_length || null };
    const input = e.multiline ? h('textarea', Object.assign({ rows: 3 }, attrs)) : h('input', Object.assign({ type: 'text' }, attrs));
    input.value = cur || '';
    let timer = null;
    // The value goes to Slack's state as the person types, as in Slack;
    // only an input with dispatch_action tells the app.
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => fire(ctx, a, [input.value]), 400); });
    registerInput(ctx, a, () => [input.value]);
    return h('div', {}, input);
  }

  function elImage(e) {
    return h('img', { class: 'bk-image', src: e.image_url || '', alt: e.alt_text || '' });
  }

  // renderSurface renders a whole message ({text, blocks}) or view, for tests
  // and the golden files of blocks/.
  function renderSurface(obj, ctx) {
    if (obj && (obj.type === 'modal' || obj.type === 'home')) {
      const el = h('div', { class: 'bk-surface bk-surface-' + obj.type });
      if (obj.title) el.append(h('div', { class: 'bk-view-title' }, textEl(obj.title, ctx)));
      el.append(render(obj.blocks, ctx));
      if (obj.submit || obj.close) {
        el.append(h('div', { class: 'bk-view-buttons' },
          obj.close ? h('button', { type: 'button', class: 'bk-btn' }, textEl(obj.close, ctx)) : null,
          obj.submit ? h('button', { type: 'button', class: 'bk-btn bk-primary' }, textEl(obj.submit, ctx)) : null));
      }
      return el;
    }
    if (obj && obj.blocks && obj.blocks.length) return render(obj.blocks, ctx);
    return h('div', { class: 'bk', html: mrkdwn((obj && obj.text) || '', ctx || {}) });
  }

  global.BlockKit = {
    render, renderSurface, mrkdwn, plain, textEl, h,
    supported: { blocks: Object.keys(BLOCKS), elements: Object.keys(ELEMENTS), texts: Object.keys(TEXTS) },
  };
})(window);
