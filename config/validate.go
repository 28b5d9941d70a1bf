package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"accessbot/workflow"
)

// Reminder defaults, used for a field (or the whole reminders section) the
// file leaves out.
const (
	DefaultReminderAfter = 4 * time.Hour  // first reminder after a step waited this long
	DefaultReminderEvery = 24 * time.Hour // then again this often
	DefaultExpiryWarning = time.Hour      // warn a holder this long before access ends
	DefaultBusinessHours = "09:00-18:00"  // reminders go out in these hours, each person's time zone
)

var (
	idPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	emailPattern   = regexp.MustCompile(`^[^@\s<>,;:"()\[\]]+@[^@\s<>,;:"()\[\]]+$`)
	channelID      = regexp.MustCompile(`^[CG][A-Z0-9]{8,}$`)
	channelName    = regexp.MustCompile(`^#[\p{Ll}\p{Lo}\p{N}_-]{1,80}$`)
	businessHours  = regexp.MustCompile(`^(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$`)
	maxIDLength    = 64
	kindsAll       = kinds(workflow.PrincipalUser, workflow.PrincipalGroup, workflow.PrincipalManager, workflow.PrincipalAppOwners, workflow.PrincipalResourceOwners)
	kindsPeople    = kinds(workflow.PrincipalUser, workflow.PrincipalGroup)
	kindsFallback  = kinds(workflow.PrincipalUser, workflow.PrincipalGroup, workflow.PrincipalAppOwners, workflow.PrincipalResourceOwners)
	stepTypeValues = "review, provision or deprovision"
)

func kinds(ks ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range ks {
		m[k] = true
	}
	return m
}

// builder holds what validation has learnt so far.
type builder struct {
	*checker
	cat    *workflow.Catalog
	people map[string]int  // email -> index in people
	groups map[string]bool // every group name: the groups section and people[].groups
	// autoSeen: automatic-provisioning problems reported, by path (connectors.go).
	autoSeen map[string]bool
}

// build validates raw and builds the catalog; problems go to c. The catalog
// is only meaningful when there are none.
func (c *checker) build(raw *rawConfig) *workflow.Catalog {
	b := &builder{
		checker: c,
		cat: &workflow.Catalog{
			People:   map[string]workflow.Person{},
			Groups:   map[string][]string{},
			Policies: map[string]*workflow.Policy{},
		},
		people: map[string]int{},
		groups: map[string]bool{},
	}
	b.admins(raw.Admins)
	b.peopleAndGroups(raw.People, raw.Groups)
	b.policies(raw.Policies)
	b.connectors(raw.Connectors)
	b.apps(raw.Apps)
	b.reminders(raw.Reminders)
	b.threads(raw.Threads)
	if ch := strings.TrimSpace(raw.EmergencyChannel); ch != "" {
		if channelID.MatchString(ch) || channelName.MatchString(ch) {
			b.cat.EmergencyChannel = ch
		} else {
			b.add("emergency_channel", "%q is not a Slack channel: use a channel id like C0123ABCD or a name like #access-emergencies", raw.EmergencyChannel)
		}
	}
	return b.cat
}

// email checks and lower-cases one email address.
func (b *builder) email(path, s string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		b.add(path, "missing: write an email address")
		return "", false
	}
	if !emailPattern.MatchString(e) {
		b.add(path, "%q is not an email address", s)
		return "", false
	}
	return e, true
}

func (b *builder) id(path, s, what string) bool {
	switch {
	case s == "":
		b.add(path, "missing: every %s needs an id (lowercase letters, digits, \"-\" and \"_\")", what)
		return false
	case len(s) > maxIDLength:
		b.add(path, "id %q is too long: use at most %d characters", s, maxIDLength)
		return false
	case !idPattern.MatchString(s):
		b.add(path, "id %q is not valid: use lowercase letters, digits, \"-\" and \"_\", starting with a letter or digit (ids are typed in slash commands)", s)
		return false
	}
	return true
}

// name checks a group or policy name (the key of its mapping).
func (b *builder) name(path, s, what string) bool {
	if len(s) > maxIDLength || !idPattern.MatchString(s) {
		b.add(path, "%s name %q is not valid: use lowercase letters, digits, \"-\" and \"_\", starting with a letter or digit", what, s)
		return false
	}
	return true
}

func (b *builder) admins(raw []string) {
	for i, a := range raw {
		e, ok := b.email(fmt.Sprintf("admins[%d]", i), a)
		if ok && !slices.Contains(b.cat.Admins, e) {
			b.cat.Admins = append(b.cat.Admins, e)
		}
	}
}

func (b *builder) peopleAndGroups(people []rawPerson, groups map[string][]string) {
	// Emails first, so that managers and groups may name people listed later.
	emails := make([]string, len(people))
	for i, p := range people {
		path := fmt.Sprintf("people[%d].email", i)
		e, ok := b.email(path, p.Email)
		if !ok {
			continue
		}
		if j, dup := b.people[e]; dup {
			b.add(path, "%q is already listed at people[%d]", e, j)
			continue
		}
		b.people[e] = i
		emails[i] = e
		b.cat.People[e] = workflow.Person{Email: e}
	}

	members := map[string][]string{}
	join := func(group, email string) {
		if !slices.Contains(members[group], email) {
			members[group] = append(members[group], email)
		}
	}

	managers := map[string]string{} // email -> manager, known people only
	for i, p := range people {
		e := emails[i]
		if p.Manager != "" {
			path := fmt.Sprintf("people[%d].manager", i)
			if m, ok := b.email(path, p.Manager); ok {
				switch _, known := b.people[m]; {
				case !known:
					b.add(path, "unknown person %q (add them under people)", m)
				case m == e:
					b.add(path, "%s cannot be their own manager", e)
				case e != "":
					managers[e] = m
				}
			}
		}
		for j, g := range p.Groups {
			path := fmt.Sprintf("people[%d].groups[%d]", i, j)
			if !b.name(path, g, "group") {
				continue
			}
			b.groups[g] = true
			if e != "" {
				join(g, e)
			}
		}
	}
	b.managerCycles(emails, managers)

	for _, g := range sortedKeys(groups) {
		path := "groups." + g
		if !b.name(path, g, "group") {
			continue
		}
		b.groups[g] = true
		if _, ok := members[g]; !ok {
			members[g] = []string{}
		}
		for j, m := range groups[g] {
			mpath := fmt.Sprintf("%s[%d]", path, j)
			e, ok := b.email(mpath, m)
			if !ok {
				continue
			}
			if _, known := b.people[e]; !known {
				b.add(mpath, "unknown person %q (add them under people)", e)
				continue
			}
			join(g, e)
		}
	}

	for g, ms := range members {
		sort.Strings(ms)
		b.cat.Groups[g] = ms
		for _, e := range ms {
			p := b.cat.People[e]
			p.Groups = append(p.Groups, g)
			b.cat.People[e] = p
		}
	}
	for e, p := range b.cat.People {
		sort.Strings(p.Groups)
		p.Manager = managers[e]
		b.cat.People[e] = p
	}
	b.accounts(people, emails)
}

// managerCycles reports each chain of managers that comes back on itself,
// once, at the first person of the cycle in the file.
func (b *builder) managerCycles(emails []string, managers map[string]string) {
	done := map[string]bool{}
	for _, start := range emails {
		if start == "" || done[start] {
			continue
		}
		var chain []string
		at := map[string]int{}
		for e := start; e != "" && !done[e]; e = managers[e] {
			if i, seen := at[e]; seen {
				cycle := chain[i:]
				first := cycle[0]
				for _, c := range cycle {
					if b.people[c] < b.people[first] {
						first = c
					}
				}
				// Write the cycle from its first person round to them again.
				k := slices.Index(cycle, first)
				loop := append(append(append([]string{}, cycle[k:]...), cycle[:k]...), first)
				b.add(fmt.Sprintf("people[%d].manager", b.people[first]), "manager cycle: %s", strings.Join(loop, " -> "))
				break
			}
			at[e] = len(chain)
			chain = append(chain, e)
		}
		for _, e := range chain {
			done[e] = true
		}
	}
}

// principals checks a list of principals; only the kinds in allowed may
// appear. It returns them normalised (user:EMAIL lower-cased, group:NAME),
// non-nil when raw is non-nil.
func (b *builder) principals(path string, raw []string, allowed map[string]bool, where string) []workflow.Principal {
	if raw == nil {
		return nil
	}
	out := make([]workflow.Principal, 0, len(raw))
	for i, s := range raw {
		p := fmt.Sprintf("%s[%d]", path, i)
		kind, arg, err := workflow.Principal(s).Parse()
		if err != nil {
			b.add(p, "%s", err.Error())
			continue
		}
		if !allowed[kind] {
			b.add(p, "%q cannot be used in %s: %s", strings.TrimSpace(s), where, allowedText(allowed))
			continue
		}
		switch kind {
		case workflow.PrincipalUser:
			if !emailPattern.MatchString(arg) {
				if t := strings.TrimSpace(s); strings.HasPrefix(t, "user:") {
					b.add(p, "%q: user: takes an email address", t)
				} else {
					b.add(p, "%q is not a person or group: use user:EMAIL, group:NAME, manager, app_owners or resource_owners", t)
				}
				continue
			}
			out = append(out, workflow.Principal(workflow.PrincipalUser+":"+arg))
		case workflow.PrincipalGroup:
			if !b.groups[arg] {
				b.add(p, "unknown group %q (define it under groups, or in people[].groups)", arg)
				continue
			}
			out = append(out, workflow.Principal(workflow.PrincipalGroup+":"+arg))
		default:
			out = append(out, workflow.Principal(kind))
		}
	}
	return out
}

func allowedText(allowed map[string]bool) string {
	var parts []string
	for _, k := range []string{workflow.PrincipalUser, workflow.PrincipalGroup, workflow.PrincipalManager, workflow.PrincipalAppOwners, workflow.PrincipalResourceOwners} {
		if !allowed[k] {
			continue
		}
		switch k {
		case workflow.PrincipalUser:
			parts = append(parts, "user:EMAIL (or an email)")
		case workflow.PrincipalGroup:
			parts = append(parts, "group:NAME")
		default:
			parts = append(parts, k)
		}
	}
	if len(parts) == 1 {
		return "use " + parts[0]
	}
	return "use " + strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

func (b *builder) policies(raw map[string]rawPolicy) {
	for _, name := range sortedKeys(raw) {
		path := "policies." + name
		if !b.name(path, name, "policy") {
			continue
		}
		pol := &workflow.Policy{Name: name}
		if len(raw[name].Steps) == 0 {
			b.add(path+".steps", "a policy needs at least one step")
		}
		for i, rs := range raw[name].Steps {
			if s, ok := b.step(fmt.Sprintf("%s.steps[%d]", path, i), rs); ok {
				pol.Steps = append(pol.Steps, s)
			}
		}
		b.cat.Policies[name] = pol
	}
}

// step checks one step; it reports false when the step's type is unusable.
func (b *builder) step(path string, rs rawStep) (workflow.Step, bool) {
	s := workflow.Step{Type: workflow.StepType(rs.Type), Delegate: true}
	switch s.Type {
	case workflow.StepReview:
		s.Mode = workflow.ModeAny
		if len(rs.Approvers) == 0 {
			b.add(path+".approvers", "a review step needs at least one approver (user:EMAIL, group:NAME, manager, app_owners or resource_owners)")
		}
		s.Approvers = b.principals(path+".approvers", rs.Approvers, kindsAll, "approvers")
		switch rs.Mode {
		case "":
		case string(workflow.ModeAny), string(workflow.ModeAll):
			s.Mode = workflow.Mode(rs.Mode)
		default:
			b.add(path+".mode", "unknown mode %q: use any (one approval passes the step) or all (every approver must approve)", rs.Mode)
		}
	case workflow.StepProvision, workflow.StepDeprovision:
		who := "provisioners"
		if s.Type == workflow.StepDeprovision {
			who = "deprovisioners"
		}
		if rs.Approvers != nil {
			b.add(path+".approvers", "a %s step takes no approvers: it goes to the app's (or resource's) %s", s.Type, who)
		}
		if rs.Mode != "" {
			b.add(path+".mode", "a %s step takes no mode: mode is for review steps", s.Type)
		}
	case "":
		b.add(path+".type", "missing: set type to %s", stepTypeValues)
		return s, false
	default:
		b.add(path+".type", "unknown step type %q: use %s", rs.Type, stepTypeValues)
		return s, false
	}

	switch rs.Delegation {
	case "", "allowed":
	case "blocked":
		s.Delegate = false
	default:
		b.add(path+".delegation", "unknown delegation %q: use allowed (the default) or blocked", rs.Delegation)
	}

	r := rs.Reassign
	rpath := path + ".reassign"
	switch {
	case !r.set:
	case r.bad:
		b.add(rpath, "use anyone, none or a list of user:EMAIL and group:NAME entries")
	case r.list != nil && len(r.list) == 0:
		b.add(rpath, "an empty list: write none to turn reassignment off, or anyone")
	case r.list != nil:
		s.Reassign.Allowed = b.principals(rpath, r.list, kindsPeople, "a reassign list")
	case r.word == "anyone":
	case r.word == "none":
		s.Reassign.None = true
	default:
		b.add(rpath, "unknown reassign %q: use anyone (the default), none or a list of user:EMAIL and group:NAME entries", r.word)
	}

	if rs.Fallback != nil && len(rs.Fallback) == 0 {
		b.add(path+".fallback", "an empty list: leave fallback out, or name who acts when nobody else can")
	}
	s.Fallback = b.principals(path+".fallback", rs.Fallback, kindsFallback, "fallback (it is used when nobody else resolves)")
	return s, true
}

// app-level facts that resources inherit, kept for the effective checks.
type appFacts struct {
	settings       workflow.Settings
	deprovExplicit bool
}

func (b *builder) apps(raw []rawApp) {
	if len(raw) == 0 {
		b.add("apps", "at least one app is needed")
		return
	}
	seen := map[string]int{}
	for i, ra := range raw {
		path := fmt.Sprintf("apps[%d]", i)
		if b.id(path+".id", ra.ID, "app") {
			if j, dup := seen[ra.ID]; dup {
				b.add(path+".id", "duplicate app id %q (also apps[%d])", ra.ID, j)
			} else {
				seen[ra.ID] = i
			}
		}
		app := &workflow.App{ID: ra.ID, Name: strings.TrimSpace(ra.Name)}
		if app.Name == "" {
			app.Name = ra.ID
		}
		app.Settings = b.settings(path, ra.rawSettings)
		s := &app.Settings
		if s.Provisioning == "" {
			s.Provisioning = workflow.ProvisioningManual
		}
		if s.Deprovisioners == nil {
			s.Deprovisioners = s.Provisioners
		}
		if ra.RequestPolicy == "" {
			b.add(path+".request_policy", "missing: name the policy that requests for this app go through (resources may override it)")
		}
		if ra.RevocationPolicy == "" {
			b.add(path+".revocation_policy", "missing: name the policy that revocations and expiries of this app go through (resources may override it)")
		}
		if ra.DefaultDuration == "" {
			b.add(path+".default_duration", "missing: set how long access lasts when the requester does not say, like 8h, 2d, 1w or permanent (resources inherit it and may override it)")
		}
		b.durations(path, s.DefaultDuration, s.MaxDuration, false, false)
		if len(ra.Resources) == 0 {
			b.automatic(path, app.Settings, ra.Connector != "")
		}
		facts := appFacts{settings: app.Settings, deprovExplicit: ra.Deprovisioners != nil}

		resSeen := map[string]int{}
		appLacks := false
		for j, rr := range ra.Resources {
			rpath := fmt.Sprintf("%s.resources[%d]", path, j)
			if b.id(rpath+".id", rr.ID, "resource") {
				if k, dup := resSeen[rr.ID]; dup {
					b.add(rpath+".id", "duplicate resource id %q in app %q (also %s.resources[%d])", rr.ID, ra.ID, path, k)
				} else {
					resSeen[rr.ID] = j
				}
			}
			res := &workflow.Resource{ID: rr.ID, Name: strings.TrimSpace(rr.Name)}
			if res.Name == "" {
				res.Name = rr.ID
			}
			res.Settings = b.settings(rpath, rr.rawSettings)
			// A resource with its own provisioners and no deprovisioners has
			// them deprovision too, unless the app names its deprovisioners.
			if res.Provisioners != nil && res.Deprovisioners == nil && !facts.deprovExplicit {
				res.Deprovisioners = res.Provisioners
			}
			// A problem the resource inherits is the app's to fix.
			at := path
			if rr.Provisioning != "" || rr.Connector != "" {
				at = rpath
			}
			b.automatic(at, effectiveProvisioning(app.Settings, res.Settings), rr.Connector != "" || ra.Connector != "" && at == path)
			if b.resourceChecks(rpath, facts, rr.rawSettings, res.Settings) {
				appLacks = true
			}
			app.Resources = append(app.Resources, res)
		}
		// An app with resources is only requested through them: its own
		// provisioners matter when a resource inherits them.
		if len(ra.Resources) == 0 || appLacks {
			b.provisioners(path, app.Settings)
		}
		if len(ra.Resources) > 0 && ra.EmergencyPolicy != "" {
			// Resources never inherit it (a stricter request policy of a
			// resource would be bypassed): say so rather than drop it.
			b.add(path+".emergency_policy", "an app with resources is requested through them, and resources do not inherit the app's emergency_policy: set emergency_policy on each resource that may be requested as an emergency, and remove it here")
		}
		b.cat.Apps = append(b.cat.Apps, app)
	}
}

// resourceChecks checks a resource's effective settings (its own over the
// app's). It reports true when the resource lacks provisioners only because
// the app does, so that the app is told once.
func (b *builder) resourceChecks(path string, app appFacts, raw rawSettings, own workflow.Settings) (appLacks bool) {
	a := app.settings
	if raw.DefaultDuration != "" || raw.MaxDuration != "" {
		def, max := a.DefaultDuration, a.MaxDuration
		if own.DefaultDuration != 0 {
			def = own.DefaultDuration
		}
		if own.MaxDuration != 0 {
			max = own.MaxDuration
		}
		b.durations(path, def, max, raw.DefaultDuration == "", raw.MaxDuration == "")
	}

	eff := workflow.Settings{Provisioning: a.Provisioning, Provisioners: a.Provisioners, Deprovisioners: a.Deprovisioners}
	if own.Provisioning != "" {
		eff.Provisioning = own.Provisioning
	}
	if own.Provisioners != nil {
		eff.Provisioners = own.Provisioners
	}
	if own.Deprovisioners != nil {
		eff.Deprovisioners = own.Deprovisioners
	}
	if eff.Provisioning != workflow.ProvisioningManual || (len(eff.Provisioners) > 0 && len(eff.Deprovisioners) > 0) {
		return false
	}
	if own.Provisioning == "" && own.Provisioners == nil && own.Deprovisioners == nil {
		return true
	}
	b.provisioners(path, eff)
	return false
}

// provisioners checks that someone grants (and removes) access by hand.
func (b *builder) provisioners(path string, s workflow.Settings) {
	if s.Provisioning != workflow.ProvisioningManual {
		return
	}
	if len(s.Provisioners) == 0 {
		b.add(path+".provisioners", "provisioned by hand (provisioning: manual, the default) but nobody provisions: name provisioners, or set provisioning: none")
		return
	}
	if len(s.Deprovisioners) == 0 {
		b.add(path+".deprovisioners", "provisioned by hand but nobody deprovisions: name deprovisioners, or leave them out to use the provisioners")
	}
}

// durations checks a default against a maximum. defInherited and
// maxInherited say which of them a resource took from its app; the problem
// goes to the field the resource set.
func (b *builder) durations(path string, def, max time.Duration, defInherited, maxInherited bool) {
	if def == 0 || max <= 0 {
		return
	}
	f := workflow.FormatDuration
	switch {
	case defInherited && def == workflow.Permanent:
		b.add(path+".max_duration", "max_duration %s does not allow the app's permanent default_duration: set a default_duration of %s or less on this resource", f(max), f(max))
	case defInherited && def > max:
		b.add(path+".max_duration", "max_duration %s is shorter than the app's default_duration %s: set a default_duration of %s or less on this resource", f(max), f(def), f(max))
	case def == workflow.Permanent:
		from := ""
		if maxInherited {
			from = "the app's "
		}
		b.add(path+".default_duration", "default_duration permanent is not allowed with %smax_duration %s: use a default of %s or less, or remove max_duration", from, f(max), f(max))
	case def > max:
		from := ""
		if maxInherited {
			from = "the app's "
		}
		b.add(path+".default_duration", "default_duration %s is longer than %smax_duration %s: lower default_duration or raise max_duration", f(def), from, f(max))
	}
}

// settings checks what an app or resource sets. Empty fields stay empty.
func (b *builder) settings(path string, raw rawSettings) workflow.Settings {
	s := workflow.Settings{
		Owners:         b.principals(path+".owners", raw.Owners, kindsPeople, "owners"),
		Provisioners:   b.principals(path+".provisioners", raw.Provisioners, kindsPeople, "provisioners"),
		Deprovisioners: b.principals(path+".deprovisioners", raw.Deprovisioners, kindsPeople, "deprovisioners"),
		Instructions:   strings.TrimSpace(raw.Instructions),
	}
	if ch := strings.TrimSpace(raw.Channel); ch != "" {
		if channelID.MatchString(ch) || channelName.MatchString(ch) {
			s.Channel = ch
		} else {
			b.add(path+".channel", "%q is not a Slack channel: use a channel id like C0123ABCD or a name like #access-requests", raw.Channel)
		}
	}
	switch raw.Provisioning {
	case "":
	case string(workflow.ProvisioningManual), string(workflow.ProvisioningNone), string(workflow.ProvisioningAutomatic):
		s.Provisioning = workflow.Provisioning(raw.Provisioning)
	default:
		b.add(path+".provisioning", "unknown provisioning %q: use manual (someone grants access by hand), automatic (a connector does, see connectors) or none (access is only recorded)", raw.Provisioning)
	}
	s.Connector = b.connectorRef(path+".connector", raw.Connector)
	s.RequestPolicy = b.policyRef(path+".request_policy", raw.RequestPolicy, workflow.KindGrant, "request")
	s.RevocationPolicy = b.policyRef(path+".revocation_policy", raw.RevocationPolicy, workflow.KindRevoke, "revocation")
	s.EmergencyPolicy = b.policyRef(path+".emergency_policy", raw.EmergencyPolicy, workflow.KindGrant, "emergency")
	s.DefaultDuration = b.duration(path+".default_duration", raw.DefaultDuration)
	s.MaxDuration = b.duration(path+".max_duration", raw.MaxDuration)
	if s.MaxDuration == workflow.Permanent {
		b.add(path+".max_duration", "max_duration cannot be permanent: leave max_duration out for no maximum")
		s.MaxDuration = 0
	}
	s.EmergencyMaxDuration = b.duration(path+".emergency_max_duration", raw.EmergencyMaxDuration)
	if s.EmergencyMaxDuration == workflow.Permanent {
		b.add(path+".emergency_max_duration", "emergency_max_duration cannot be permanent: emergency access always ends; leave it out for the default of %s", workflow.FormatDuration(workflow.DefaultEmergencyMaxDuration))
		s.EmergencyMaxDuration = 0
	}
	return s
}

// policyRef checks that name is a policy fit for tasks of kind k.
func (b *builder) policyRef(path, name string, k workflow.Kind, use string) string {
	if name == "" {
		return ""
	}
	pol, ok := b.cat.Policies[name]
	if !ok {
		b.add(path, "unknown policy %q", name)
		return name
	}
	if len(pol.Steps) == 0 {
		return name // reported at the policy
	}
	if err := pol.CheckFor(k); err != nil {
		b.add(path, "policy %q cannot be a%s %s policy: %v", name, an(use), use, err)
	}
	return name
}

func an(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "n"
	}
	return ""
}

// duration parses a duration field; "" is 0 (not set). Whether permanent
// is allowed is for the caller to say.
func (b *builder) duration(path, s string) time.Duration {
	if strings.TrimSpace(s) == "" {
		return 0
	}
	d, err := workflow.ParseDuration(s)
	if err != nil {
		b.add(path, "%v", err)
		return 0
	}
	return d
}

func (b *builder) reminders(raw *rawReminders) {
	r := workflow.Reminders{
		After:         DefaultReminderAfter,
		Every:         DefaultReminderEvery,
		ExpiryWarning: DefaultExpiryWarning,
	}
	r.BusinessHours, _ = parseBusinessHours(DefaultBusinessHours)
	if raw != nil {
		d := func(field, s string, dst *time.Duration) {
			if s == "" {
				return
			}
			path := "reminders." + field
			v := b.duration(path, s)
			switch {
			case v == workflow.Permanent:
				b.add(path, "%s cannot be permanent: use a duration like 4h or 1d", field)
			case v > 0:
				*dst = v
			}
		}
		d("after", raw.After, &r.After)
		d("every", raw.Every, &r.Every)
		d("escalate_after", raw.EscalateAfter, &r.EscalateAfter)
		d("expiry_warning", raw.ExpiryWarning, &r.ExpiryWarning)
		if raw.BusinessHours != "" {
			bh, err := parseBusinessHours(raw.BusinessHours)
			if err != nil {
				b.add("reminders.business_hours", "%v", err)
			} else {
				r.BusinessHours = bh
			}
		}
	}
	b.cat.Reminders = r
}

// parseBusinessHours reads "09:00-18:00" (or "any" for any time of day).
func parseBusinessHours(s string) (workflow.BusinessHours, error) {
	s = strings.TrimSpace(s)
	if s == "any" {
		return workflow.BusinessHours{}, nil
	}
	bad := fmt.Errorf("%q is not a time window: write it as HH:MM-HH:MM with the start before the end, like 09:00-18:00 (or any)", s)
	m := businessHours.FindStringSubmatch(s)
	if m == nil {
		return workflow.BusinessHours{}, bad
	}
	at := func(h, min string) (time.Duration, bool) {
		hh, _ := strconv.Atoi(h)
		mm, _ := strconv.Atoi(min)
		if mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
			return 0, false
		}
		return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
	}
	start, ok1 := at(m[1], m[2])
	end, ok2 := at(m[3], m[4])
	if !ok1 || !ok2 || start >= end {
		return workflow.BusinessHours{}, bad
	}
	return workflow.BusinessHours{Start: start, End: end}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
