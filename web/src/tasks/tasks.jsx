// Tasks (issue 12 item 4): task lists, and tasks with a title, a due
// date, a priority, notes and a done checkbox, over JMAP for Tasks
// (draft-ietf-jmap-tasks; docs/jmap.md). The very VTODOs CalDAV and
// ActiveSync serve. A chunk of its own, loaded on demand.
import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { t, lang } from '../i18n.js';
import { events as pushEvents } from '../jmap.js';
import { gw, setOne } from '../gw/jmap.js';
import { TopBar, Modal } from '../gw/lazy.jsx';

const lists = signal([]);
const list = signal(null);
const tasks = signal([]);
const show = signal('open'); // open, done, all
const editing = signal(null);
const newList = signal(null);
const toast = signal('');

function say(s) { toast.value = s; setTimeout(() => { if (toast.value === s) toast.value = ''; }, 4000); }
function fail(e) { say(t('error', { error: e.message || String(e) })); }

const isDone = (x) => x.progress === 'completed';

async function load() {
  const r = await gw([['TaskList/get', {}, 'l']]);
  lists.value = r.l.list.slice().sort((a, b) => (b.role === 'inbox' ? 1 : 0) - (a.role === 'inbox' ? 1 : 0) ||
    (a.sortOrder || 0) - (b.sortOrder || 0) || a.name.localeCompare(b.name));
  if (!list.value || !lists.value.find((l) => l.id === list.value)) list.value = lists.value[0] && lists.value[0].id;
  await loadTasks();
}

// The filters of the three views; Task/query sorts by due time (tasks
// without one last), the server's default.
const filters = {
  open: { operator: 'NOT', conditions: [{ progress: 'completed' }, { progress: 'cancelled' }] },
  done: { progress: 'completed' },
  all: null,
};

// taskLoads drops an answer overtaken by a newer load (another list or
// view chosen meanwhile, or a push).
let taskLoads = 0;
let shownList = null; // the list whose tasks are shown

async function loadTasks() {
  const mine = ++taskLoads;
  if (list.value !== shownList) { tasks.value = []; shownList = list.value; } // not another list's tasks under this one's name
  if (!list.value) return;
  const f = filters[show.value];
  const filter = f ? { operator: 'AND', conditions: [{ inTaskLists: [list.value] }, f] } : { inTaskLists: [list.value] };
  const r = await gw([
    ['Task/query', { filter, sort: [{ property: 'due' }, { property: 'priority' }, { property: 'title' }] }, 'q'],
    ['Task/get', { '#ids': { resultOf: 'q', name: 'Task/query', path: '/ids' },
      properties: ['title', 'description', 'due', 'showWithoutTime', 'timeZone', 'priority', 'progress'] }, 'g'],
  ]);
  if (mine !== taskLoads) return;
  const byId = new Map(r.g.list.map((x) => [x.id, x]));
  tasks.value = r.q.ids.map((id) => byId.get(id)).filter(Boolean);
}
const reload = () => load().catch(fail);

// A due date is kept as a date (showWithoutTime), "YYYY-MM-DD" here.
const dueDate = (x) => (x.due ? x.due.slice(0, 10) : '');
const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};
// The browser's own locale when it is of the app's language (en-GB
// dates for a British browser), else the app's language, as the calendar.
const locale = () => ((navigator.language || '').split('-')[0] === lang.value ? navigator.language : lang.value);
function fmtDate(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' })
    .format(new Date(y, m - 1, d));
}
// RFC 8984 §4.4.1: 1-4 high, 5 medium, 6-9 low, 0 (or none) undefined.
const prioOf = (x) => (!x.priority ? 'none' : x.priority < 5 ? 'high' : x.priority === 5 ? 'medium' : 'low');
const prioValue = { none: 0, high: 1, medium: 5, low: 9 };

async function setDone(x, done) {
  const patch = done
    ? { progress: 'completed', progressUpdated: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }
    : { progress: 'needs-action', progressUpdated: null };
  try {
    await setOne('Task', { update: { [x.id]: patch } });
    say(done ? t('taskDone', { title: x.title || t('noTitle') }) : t('taskReopened', { title: x.title || t('noTitle') }));
    await loadTasks();
  } catch (e) { fail(e); }
}

const draftOf = (x) => (x
  ? { id: x.id, title: x.title || '', due: dueDate(x), priority: prioOf(x), notes: x.description || '' }
  : { id: null, title: '', due: '', priority: 'none', notes: '' });

async function save(d) {
  const props = {
    title: d.title.trim(),
    description: d.notes.trim() || null,
    priority: prioValue[d.priority],
    due: d.due ? d.due + 'T00:00:00' : null,
    showWithoutTime: !!d.due,
  };
  if (d.id) {
    await setOne('Task', { update: { [d.id]: props } });
    return;
  }
  if (!props.due) { delete props.due; delete props.showWithoutTime; }
  if (props.description === null) delete props.description;
  await setOne('Task', { create: { n: { '@type': 'Task', taskListId: list.value, ...props } } });
}

function TaskRow({ x }) {
  const due = dueDate(x);
  const overdue = due && !isDone(x) && due < today();
  const title = x.title || t('noTitle');
  return (
    <li class={'task-row' + (isDone(x) ? ' done' : '')} data-title={x.title}>
      <input type="checkbox" id={'done-' + x.id} checked={isDone(x)} aria-label={t('markDone', { title })}
        onChange={(e) => setDone(x, e.currentTarget.checked)} />
      <button class="task-open" onClick={() => { editing.value = draftOf(x); }}>
        <span class="name">{title}</span>
        {x.description && <span class="muted notes">{x.description}</span>}
      </button>
      <span class="task-meta">
        {prioOf(x) !== 'none' && <span class={'prio prio-' + prioOf(x)}>{t('prio_' + prioOf(x))}</span>}
        {due && <span class={'due' + (overdue ? ' overdue' : '')}>{overdue ? t('overdue', { date: fmtDate(due) }) : fmtDate(due)}</span>}
      </span>
    </li>
  );
}

function Editor() {
  const d = editing.value;
  const set = (k) => (ev) => { editing.value = { ...editing.value, [k]: ev.currentTarget.value }; };
  const close = () => { editing.value = null; };
  return (
    <Modal title={d.id ? t('editTask') : t('newTask')} onClose={close}>
      <form class="task-form" onSubmit={async (ev) => {
        ev.preventDefault();
        if (!d.title.trim()) { fail(new Error(t('taskNeedsTitle'))); return; }
        try { await save(d); close(); say(t('taskSaved')); await loadTasks(); } catch (e) { fail(e); }
      }}>
        <div class="field"><label for="tk-title">{t('taskTitle')}</label>
          <input id="tk-title" required value={d.title} onInput={set('title')} /></div>
        <div class="field"><label for="tk-due">{t('dueDate')}</label>
          <input id="tk-due" type="date" value={d.due} onInput={set('due')} /></div>
        <div class="field"><label for="tk-prio">{t('priority')}</label>
          <select id="tk-prio" value={d.priority} onChange={set('priority')}>
            {['none', 'high', 'medium', 'low'].map((p) => <option value={p}>{t('prio_' + p)}</option>)}
          </select></div>
        <div class="field"><label for="tk-notes">{t('notes')}</label>
          <textarea id="tk-notes" rows="4" value={d.notes} onInput={set('notes')} /></div>
        <div class="actions">
          {d.id && <button type="button" class="danger" onClick={async () => {
            if (!confirm(t('deleteTaskQ', { title: d.title || t('noTitle') }))) return;
            try { await setOne('Task', { destroy: [d.id] }); close(); say(t('taskDeleted')); await loadTasks(); } catch (e) { fail(e); }
          }}>{t('delete')}</button>}
          <span class="grow" />
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary">{t('save')}</button>
        </div>
      </form>
    </Modal>
  );
}

function ListEditor() {
  const close = () => { newList.value = null; };
  return (
    <Modal title={t('newTaskList')} onClose={close}>
      <form onSubmit={async (ev) => {
        ev.preventDefault();
        const name = newList.value.trim();
        if (!name) return;
        try {
          const r = await setOne('TaskList', { create: { l: { name } } });
          close();
          list.value = r.created.l.id;
          await load();
        } catch (e) { fail(e); }
      }}>
        <div class="field"><label for="tl-name">{t('taskListName')}</label>
          <input id="tl-name" required value={newList.value} onInput={(e) => { newList.value = e.currentTarget.value; }} /></div>
        <div class="actions">
          <button type="button" onClick={close}>{t('cancel')}</button>
          <button type="submit" class="primary">{t('save')}</button>
        </div>
      </form>
    </Modal>
  );
}

export default function Tasks() {
  useEffect(() => {
    reload();
    let timer;
    return pushEvents(() => { clearTimeout(timer); timer = setTimeout(reload, 300); });
  }, []);
  const cur = lists.value.find((l) => l.id === list.value);
  return (
    <div class="gw tasks">
      <TopBar />
      <aside class="cal-side" aria-label={t('taskLists')}>
        <button class="primary" disabled={!list.value} onClick={() => { editing.value = draftOf(null); }}>{t('newTask')}</button>
        <h2>{t('taskLists')}</h2>
        <ul class="cal-list">
          {lists.value.map((l) => (
            <li><button class="folder" aria-current={l.id === list.value ? 'page' : undefined}
              onClick={() => { list.value = l.id; loadTasks().catch(fail); }}>{l.name}</button></li>
          ))}
        </ul>
        <p><button onClick={() => { newList.value = ''; }}>{t('newTaskList')}</button></p>
      </aside>
      <main class="tasks-main">
        <h1>{cur ? cur.name : t('section_tasks')}</h1>
        <p class="phone-only task-phone-bar">
          <button class="primary" disabled={!list.value} onClick={() => { editing.value = draftOf(null); }}>{t('newTask')}</button>
          <select aria-label={t('taskLists')} value={list.value || ''} onChange={(e) => { list.value = e.currentTarget.value; loadTasks().catch(fail); }}>
            {lists.value.map((l) => <option value={l.id}>{l.name}</option>)}
          </select>
        </p>
        <div class="task-show" role="radiogroup" aria-label={t('showTasks')}>
          {['open', 'done', 'all'].map((s) => (
            <label><input type="radio" name="task-show" value={s} checked={show.value === s}
              onChange={() => { show.value = s; loadTasks().catch(fail); }} /> {t('show_' + s)}</label>
          ))}
        </div>
        {tasks.value.length === 0 ? <p class="empty">{t('noTasks')}</p> : (
          <ul class="task-list" aria-label={t('taskList')}>
            {tasks.value.map((x) => <TaskRow key={x.id} x={x} />)}
          </ul>
        )}
      </main>
      {editing.value && <Editor />}
      {newList.value !== null && <ListEditor />}
      <div class="toast" role="status" aria-live="polite">{toast.value}</div>
    </div>
  );
}
