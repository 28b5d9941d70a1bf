package blocks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"accessbot/workflow"
)

// HomeTab is a tab of the App Home.
type HomeTab string

const (
	TabAssigned       HomeTab = "assigned"       // review steps waiting on the viewer
	TabProvisioning   HomeTab = "provisioning"   // provision steps waiting on the viewer
	TabDeprovisioning HomeTab = "deprovisioning" // deprovision steps waiting on the viewer
	TabRequests       HomeTab = "requests"       // what the viewer asked for or proposed
	TabCompleted      HomeTab = "completed"      // tasks the viewer decided a step of
)

// HomeTabs lists the tabs in the order the Home shows them.
var HomeTabs = []HomeTab{TabAssigned, TabProvisioning, TabDeprovisioning, TabRequests, TabCompleted}

var tabTitles = map[HomeTab]string{
	TabAssigned: "Assigned to me", TabProvisioning: "Awaiting provisioning",
	TabDeprovisioning: "Awaiting deprovisioning", TabRequests: "My requests", TabCompleted: "Completed",
}

// Title is the tab's button text.
func (t HomeTab) Title() string { return tabTitles[t] }

// Valid reports whether t is one of HomeTabs.
func (t HomeTab) Valid() bool { _, ok := tabTitles[t]; return ok }

// Bulk reports whether the tab's rows carry checkboxes and a bulk bar.
func (t HomeTab) Bulk() bool {
	return t == TabAssigned || t == TabProvisioning || t == TabDeprovisioning
}

// HomeStep is the step type the tab lists ("" for tabs that are not work
// waiting on the viewer).
func (t HomeTab) Step() workflow.StepType {
	switch t {
	case TabAssigned:
		return workflow.StepReview
	case TabProvisioning:
		return workflow.StepProvision
	case TabDeprovisioning:
		return workflow.StepDeprovision
	}
	return ""
}

// HomePageSize is how many rows a Home page shows: each bulk row is two
// blocks and the rest of the Home takes at most ten, within Slack's 100.
const HomePageSize = 40

// Action IDs of the App Home. Row buttons reuse the card's decision action
// IDs (ActApprove, …) and ActDetails with EncodeRef values.
const (
	ActHomeTab       = "home_tab_"       // + tab name; value is the tab
	ActHomePrev      = "home_page_prev"  // value is the page to show
	ActHomeNext      = "home_page_next"  // value is the page to show
	ActHomeCancel    = "home_cancel"     // My requests: cancel; value EncodeRef
	ActHomeSelect    = "home_select"     // a row's checkbox; its option value is EncodeRef
	ActHomeSelectAll = "home_select_all" // the bar's "all in this tab" checkbox
	ActHomeBulk      = "home_bulk_"      // + workflow.Action; the bar's buttons
	ActHomeRefresh   = "home_refresh"

	// BlockHomeRow prefixes the block_id of a row's section: "home_row:12:3".
	// The revision is part of it so a selection made on an older rendering
	// of the task is not carried over to a newer one.
	BlockHomeRow = "home_row:"
	// BlockHomeBar is the bulk bar's block_id.
	BlockHomeBar = "home_bar"
	// SelectAllValue is the option value of ActHomeSelectAll.
	SelectAllValue = "all"
)

// HomeMeta is the Home view's private_metadata: the tab and page shown.
type HomeMeta struct {
	Tab  HomeTab `json:"tab"`
	Page int     `json:"page,omitempty"`
}

// EncodeHomeMeta writes m for private_metadata.
func EncodeHomeMeta(m HomeMeta) string {
	b, _ := json.Marshal(m) // a string and an int: cannot fail
	return string(b)
}

// DecodeHomeMeta reads EncodeHomeMeta's JSON; anything else (an empty or
// foreign view) gives the first tab.
func DecodeHomeMeta(s string) HomeMeta {
	var m HomeMeta
	if len(s) > maxPrivateMetadata || json.Unmarshal([]byte(s), &m) != nil || !m.Tab.Valid() || m.Page < 0 {
		return HomeMeta{Tab: TabAssigned}
	}
	return m
}

// HomeInput is what the Home shows to one person.
type HomeInput struct {
	Viewer string
	Meta   HomeMeta
	// Tasks are the rows of the page shown; Total is how many the tab holds.
	Tasks []*workflow.Task
	Total int
	// Counts are shown on the tab buttons of work waiting (optional).
	Counts map[HomeTab]int
	// Kinds says which kinds of task the tab holds, to offer Approve for
	// requests and Confirm for revocations in the bulk bar.
	Kinds      map[workflow.Kind]bool
	Delegation *workflow.Delegation
	// Notice is a line at the top: the answer to the person's last click.
	Notice string
	Ent    func(*workflow.Task) workflow.Entitlement
	// Grant says what became of the access a finished grant task gave
	// (optional; nil, or a nil answer, draws the task alone).
	Grant func(*workflow.Task) *workflow.GrantOutcome
	Dir   Directory
	Now   time.Time
}

// Pages is how many pages a tab of total rows has (at least one).
func Pages(total int) int {
	return max(1, (total+HomePageSize-1)/HomePageSize)
}

// Home renders the App Home view.
func Home(in HomeInput) slack.HomeTabViewRequest {
	w := words{dir: in.Dir, now: in.Now}
	tab := in.Meta.Tab
	if !tab.Valid() {
		tab = TabAssigned
	}
	pages := Pages(in.Total)
	page := min(max(in.Meta.Page, 0), pages-1)
	bs := []slack.Block{header("Access requests"), homeTabs(tab, in.Counts)}
	if n := strings.TrimSpace(in.Notice); n != "" {
		bs = append(bs, section(":information_source: "+Mentions(in.Dir, escape(n))))
	}
	bs = append(bs, delegateSection(w, in.Delegation), slack.NewDividerBlock())
	heading := fmt.Sprintf("*%s* · %d", tab.Title(), in.Total)
	if in.Total == 0 {
		bs = append(bs, section(heading+"\n"+emptyTab(tab)))
	} else {
		bs = append(bs, section(heading))
		if tab.Bulk() {
			bs = append(bs, bulkBar(tab, in.Kinds, in.Total))
		}
		for _, t := range in.Tasks {
			ent := workflow.Entitlement{}
			if in.Ent != nil {
				ent = in.Ent(t)
			}
			rw := w
			if in.Grant != nil {
				rw.grant = in.Grant(t)
			}
			bs = append(bs, homeRow(rw, tab, t, ent, in.Viewer)...)
		}
	}
	if pages > 1 {
		var els []slack.BlockElement
		if page > 0 {
			els = append(els, button(ActHomePrev, "Previous", strconv.Itoa(page-1), ""))
		}
		if page < pages-1 {
			els = append(els, button(ActHomeNext, "Next", strconv.Itoa(page+1), ""))
		}
		bs = append(bs, actions(els...), contextBlock(fmt.Sprintf("Page %d of %d", page+1, pages)))
	}
	return slack.HomeTabViewRequest{
		Type:            slack.VTHomeTab,
		Blocks:          slack.Blocks{BlockSet: fitBlocks(bs, maxViewBlocks)},
		PrivateMetadata: EncodeHomeMeta(HomeMeta{Tab: tab, Page: page}),
		CallbackID:      "home",
	}
}

func homeTabs(sel HomeTab, counts map[HomeTab]int) slack.Block {
	var els []slack.BlockElement
	for _, t := range HomeTabs {
		text := t.Title()
		if n, ok := counts[t]; ok {
			text += fmt.Sprintf(" (%d)", n)
		}
		style := slack.Style("")
		if t == sel {
			style = slack.StylePrimary
		}
		els = append(els, button(ActHomeTab+string(t), text, string(t), style))
	}
	a := actions(els...)
	a.BlockID = "home_tabs"
	return a
}

func delegateSection(w words, d *workflow.Delegation) slack.Block {
	s := "*Delegate tasks*\nYour delegate: nobody. Your new tasks come to you."
	if d != nil && d.Delegate != "" {
		s = "*Delegate tasks*\nYour delegate: " + w.who(d.Delegate) + ". Your new tasks go to them"
		switch {
		case !d.Starts.IsZero() && !d.Ends.IsZero():
			s += " from " + date(d.Starts) + " until " + date(d.Ends)
		case !d.Ends.IsZero():
			s += " until " + date(d.Ends)
		case !d.Starts.IsZero():
			s += " from " + date(d.Starts)
		default:
			s += ", until you change it"
		}
		s += "."
		if !w.now.IsZero() && !d.ActiveAt(w.now) {
			s += " (not in force now)"
		}
	}
	b := slack.NewSectionBlock(md(s, maxSectionText), nil, slack.NewAccessory(button(ActDelegateEdit, "Edit", "delegate", "")))
	b.BlockID = "home_delegate"
	return b
}

func emptyTab(t HomeTab) string {
	switch t {
	case TabRequests:
		return "You have asked for nothing yet. Type `/access request` to ask for access."
	case TabCompleted:
		return "You have not decided any task yet."
	}
	return "Nothing waits on you here. :tada:"
}

// bulkActions are the bar's actions by tab; the review tab offers Approve
// only when it holds requests and Confirm only when it holds revocations.
func bulkActions(tab HomeTab, kinds map[workflow.Kind]bool) []workflow.Action {
	switch tab {
	case TabAssigned:
		var as []workflow.Action
		if kinds == nil || kinds[workflow.KindGrant] {
			as = append(as, workflow.ActionApprove)
		}
		if kinds == nil || kinds[workflow.KindRevoke] {
			as = append(as, workflow.ActionConfirm)
		}
		return append(as, workflow.ActionDeny)
	case TabProvisioning:
		return []workflow.Action{workflow.ActionProvisioned, workflow.ActionWontProvision}
	case TabDeprovisioning:
		return []workflow.Action{workflow.ActionDeprovisioned, workflow.ActionWontDeprovision}
	}
	return nil
}

// BulkVerb is how a bulk action reads in a sentence and on its button.
func BulkVerb(a workflow.Action) string {
	switch a {
	case workflow.ActionApprove:
		return "Approve"
	case workflow.ActionConfirm:
		return "Confirm"
	case workflow.ActionDeny:
		return "Deny"
	case workflow.ActionProvisioned:
		return "Provisioned"
	case workflow.ActionWontProvision:
		return "Won't provision"
	case workflow.ActionDeprovisioned:
		return "Deprovisioned"
	case workflow.ActionWontDeprovision:
		return "Won't deprovision"
	}
	return string(a)
}

// DecidedNotice says, at the top of the App Home, what the person just did
// on one of its rows: "T-12 (GitHub / org-admin): you approved it."
func DecidedNotice(t *workflow.Task, a workflow.Action, ent workflow.Entitlement) string {
	did := map[workflow.Action]string{
		workflow.ActionApprove:         "you approved it",
		workflow.ActionConfirm:         "you confirmed the revocation",
		workflow.ActionDeny:            "you denied it",
		workflow.ActionProvisioned:     "you marked it provisioned",
		workflow.ActionWontProvision:   "you marked it won't provision",
		workflow.ActionDeprovisioned:   "you marked it deprovisioned",
		workflow.ActionWontDeprovision: "you marked it won't deprovision",
	}[a]
	if did == "" {
		did = "you chose " + strings.ToLower(BulkVerb(a))
	}
	if t == nil {
		return capitalize(did) + "."
	}
	return t.Number() + " (" + entLabel(t, ent) + "): " + did + "."
}

func bulkBar(tab HomeTab, kinds map[workflow.Kind]bool, total int) slack.Block {
	all := slack.NewCheckboxGroupsBlockElement(ActHomeSelectAll,
		option(fmt.Sprintf("All %d in this tab", total), SelectAllValue))
	els := []slack.BlockElement{all}
	for _, a := range bulkActions(tab, kinds) {
		style := slack.StylePrimary
		if a == workflow.ActionDeny || a == workflow.ActionWontProvision || a == workflow.ActionWontDeprovision {
			style = slack.StyleDanger
		}
		els = append(els, button(ActHomeBulk+string(a), BulkVerb(a)+" selected…", string(a), style))
	}
	b := actions(els...)
	b.BlockID = BlockHomeBar
	return b
}

// homeRow renders one task: a section (with a checkbox on bulk tabs, or
// Cancel on a request that is still open) and, on tabs of work waiting, the
// task's primary buttons.
func homeRow(w words, tab HomeTab, t *workflow.Task, ent workflow.Entitlement, viewer string) []slack.Block {
	ref := EncodeRef(t.ID, t.Revision)
	kind := kindTitle(t.Kind)
	if typ := stepTypeOf(t, t.Step); typ != "" && t.Status == workflow.StatusOpen {
		kind = title(t.Kind, typ)
	}
	if t.Emergency {
		kind = ":rotating_light: Emergency · " + kind
	}
	text := fmt.Sprintf("*%s* · %s\n%s", t.Number(), kind, summary(w, t, ent, bold))
	var acc *slack.Accessory
	switch {
	case tab.Bulk():
		if run := currentRun(t); run != nil && !run.StartedAt.IsZero() {
			text += "\nWaiting since " + date(run.StartedAt)
			if ago := w.since(run.StartedAt); ago != "" {
				text += " (" + ago + ")"
			}
		}
		acc = slack.NewAccessory(slack.NewCheckboxGroupsBlockElement(ActHomeSelect, option("Select", ref)))
	case tab == TabRequests:
		text += "\n" + headline(w, t)
		if !t.Status.Closed() && t.Kind == workflow.KindGrant && sameEmail(t.Requester, viewer) {
			c := button(ActHomeCancel, "Cancel request", ref, slack.StyleDanger)
			c.Confirm = slack.NewConfirmationBlockObject(plain("Cancel "+t.Number()+"?", 100),
				plain("Nobody will act on it any more. You can ask again later.", 300), plain("Cancel it", 30), plain("Keep it", 30))
			acc = slack.NewAccessory(c)
		}
	default:
		text += "\n" + headline(w, t)
	}
	sec := slack.NewSectionBlock(md(text, maxSectionText), nil, acc)
	sec.BlockID = BlockHomeRow + ref
	if !tab.Bulk() {
		return []slack.Block{sec}
	}
	row := actions(append(primaryButtons(t, ref), button(ActDetails, "Details", ref, ""))...)
	row.BlockID = "home_act:" + ref
	return []slack.Block{sec, row}
}

func currentRun(t *workflow.Task) *workflow.StepRun {
	if t.Step < 0 || t.Step >= len(t.Steps) {
		return nil
	}
	return &t.Steps[t.Step]
}

// primaryButtons are a task's two decision buttons for its current step,
// the same as its card's.
func primaryButtons(t *workflow.Task, ref string) []slack.BlockElement {
	switch typ := stepTypeOf(t, t.Step); {
	case typ == workflow.StepReview && t.Kind == workflow.KindGrant:
		return []slack.BlockElement{button(ActApprove, "Approve", ref, slack.StylePrimary), button(ActDeny, "Deny", ref, slack.StyleDanger)}
	case typ == workflow.StepReview:
		return []slack.BlockElement{button(ActConfirm, "Confirm", ref, slack.StylePrimary), button(ActDeny, "Deny", ref, slack.StyleDanger)}
	case typ == workflow.StepProvision:
		return []slack.BlockElement{button(ActProvisioned, "Provisioned", ref, slack.StylePrimary), button(ActWontProvision, "Won't provision", ref, slack.StyleDanger)}
	case typ == workflow.StepDeprovision:
		return []slack.BlockElement{button(ActDeprovisioned, "Deprovisioned", ref, slack.StylePrimary), button(ActWontDeprovision, "Won't deprovision", ref, slack.StyleDanger)}
	}
	return nil
}

// Callback ID and input of the bulk modal.
const (
	CbBulk = "home_bulk"
)

// BulkRef is one task of a bulk action, at the revision the person saw.
type BulkRef struct{ TaskID, Revision int64 }

// BulkMeta is the bulk modal's private_metadata: the action and the tasks.
type BulkMeta struct {
	Action workflow.Action
	Tasks  []BulkRef
	Home   HomeMeta // the Home page to show again afterwards
}

// MaxBulk is the most tasks one bulk action takes: their references must
// fit the modal's 3,000-character private_metadata.
const MaxBulk = 250

// EncodeBulkMeta writes m compactly: "approve|assigned|0|1c:3,1d:3" with
// base-36 numbers, so MaxBulk tasks fit Slack's 3,000 characters.
func EncodeBulkMeta(m BulkMeta) string {
	var b strings.Builder
	b.WriteString(string(m.Action) + "|" + string(m.Home.Tab) + "|" + strconv.Itoa(m.Home.Page) + "|")
	for i, r := range m.Tasks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(r.TaskID, 36) + ":" + strconv.FormatInt(r.Revision, 36))
	}
	return b.String()
}

// DecodeBulkMeta reads EncodeBulkMeta's text.
func DecodeBulkMeta(s string) (BulkMeta, error) {
	parts := strings.Split(s, "|")
	if len(s) > maxPrivateMetadata || len(parts) != 4 {
		return BulkMeta{}, errors.New("bulk metadata: want ACTION|TAB|PAGE|TASKS")
	}
	m := BulkMeta{Action: workflow.Action(parts[0]), Home: HomeMeta{Tab: HomeTab(parts[1])}}
	if _, ok := decisions[m.Action]; !ok {
		return BulkMeta{}, fmt.Errorf("bulk metadata: %q is not an action", cut(parts[0], 40))
	}
	page, err := strconv.Atoi(parts[2])
	if err != nil || page < 0 || !m.Home.Tab.Valid() {
		return BulkMeta{}, errors.New("bulk metadata: bad tab or page")
	}
	m.Home.Page = page
	for _, r := range strings.Split(parts[3], ",") {
		a, b, ok := strings.Cut(r, ":")
		id, err1 := strconv.ParseInt(a, 36, 64)
		rev, err2 := strconv.ParseInt(b, 36, 64)
		if !ok || err1 != nil || err2 != nil || id <= 0 || rev < 0 {
			return BulkMeta{}, fmt.Errorf("bulk metadata: bad task reference %q", cut(r, 40))
		}
		m.Tasks = append(m.Tasks, BulkRef{TaskID: id, Revision: rev})
	}
	if len(m.Tasks) == 0 || len(m.Tasks) > MaxBulk {
		return BulkMeta{}, fmt.Errorf("bulk metadata: %d tasks; want 1 to %d", len(m.Tasks), MaxBulk)
	}
	return m, nil
}

func cut(s string, n int) string { return truncate(s, n) }

// numbers lists task numbers, "T-1, T-2 and 3 more", within max runes.
func numbers(refs []BulkRef, max int) string {
	var b strings.Builder
	for i, r := range refs {
		n := "T-" + strconv.FormatInt(r.TaskID, 10)
		rest := fmt.Sprintf(" and %d more", len(refs)-i)
		if b.Len()+len(n)+2+len(rest) > max {
			b.WriteString(rest)
			return b.String()
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}

// BulkModal asks for the comment of a bulk action (required). On
// submission: state.values[BlockComment][ActionComment].value.
func BulkModal(m BulkMeta) slack.ModalViewRequest {
	verb := BulkVerb(m.Action)
	n := len(m.Tasks)
	noun := "tasks"
	if n == 1 {
		noun = "task"
	}
	lead := fmt.Sprintf("*%s* %d %s: %s.\nEach task gets your comment, and each is decided on its own: a task that moved on since you chose it is left as it is and explained.",
		verb, n, noun, numbers(m.Tasks, 2000))
	bs := []slack.Block{
		section(lead),
		textInput(BlockComment, ActionComment, "Comment", "Say why in a sentence.",
			"Everyone on each task sees it, and it is kept in each task's history.", "", true, workflow.MaxTextLen),
	}
	v := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain(fmt.Sprintf("%s %d %s", verb, n, noun), maxViewTitle),
		Close:           plain("Cancel", maxViewTitle),
		Submit:          plain(fmt.Sprintf("%s %d", verb, n), maxViewTitle),
		Blocks:          slack.Blocks{BlockSet: bs},
		PrivateMetadata: EncodeBulkMeta(m),
		CallbackID:      CbBulk,
	}
	return v
}

// BulkFailure is a task a bulk action left as it was, and why.
type BulkFailure struct {
	TaskID int64
	Reason string // "moved on", "not yours", "not allowed", …
	Detail string // workflow.ErrorMessage
}

// BulkWorkingModal stands in while a bulk action runs.
func BulkWorkingModal(m BulkMeta) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain("Working…", maxViewTitle),
		Close:  plain("Close", maxViewTitle),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(fmt.Sprintf(":hourglass_flowing_sand: %s: deciding %d tasks, one by one…", BulkVerb(m.Action), len(m.Tasks)))}},
		// Kept so that a late result can still name the action.
		PrivateMetadata: EncodeBulkMeta(m),
		CallbackID:      CbBulk + "_working",
	}
}

// BulkResultModal says how a bulk action went: how many succeeded and why
// each other task was left as it was.
func BulkResultModal(a workflow.Action, ok int, failed []BulkFailure) slack.ModalViewRequest {
	verb := BulkVerb(a)
	total := ok + len(failed)
	bs := []slack.Block{section(fmt.Sprintf(":white_check_mark: *%d of %d* done (%s).", ok, total, strings.ToLower(verb)))}
	if len(failed) > 0 {
		lines := make([]string, len(failed))
		for i, f := range failed {
			lines[i] = fmt.Sprintf("• *T-%d* — %s: %s", f.TaskID, f.Reason, escape(f.Detail))
		}
		texts, used := joinLines(lines, maxSectionText, maxViewBlocks-3)
		bs = append(bs, section(fmt.Sprintf(":warning: *%d left as they were:*", len(failed))))
		for _, t := range texts {
			bs = append(bs, section(t))
		}
		if used < len(lines) {
			bs = append(bs, contextBlock(fmt.Sprintf("%s and %d more; each task's card says where it is.", ellipsis, len(lines)-used)))
		}
	}
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      plain(fmt.Sprintf("%s: %d of %d", verb, ok, total), maxViewTitle),
		Close:      plain("Done", maxViewTitle),
		Blocks:     slack.Blocks{BlockSet: fitBlocks(bs, maxViewBlocks)},
		CallbackID: CbBulk + "_result",
	}
}
