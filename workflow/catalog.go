package workflow

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Catalog is the configuration the engine works from: people, groups, admins,
// policies and apps. It is immutable once built; a config reload swaps the
// whole catalog (Engine.SetCatalog), and running tasks keep the policy they
// snapshotted.
type Catalog struct {
	Admins    []string
	People    map[string]Person // by lower-case email
	Groups    map[string][]string
	Policies  map[string]*Policy
	Apps      []*App
	Reminders Reminders
	Threads   Threads // acknowledgment words in task threads; see ThreadsOrDefault
	// EmergencyChannel, when set, is told of every emergency request at
	// once, as every admin is by DM.
	EmergencyChannel string
	// Email says an email channel is configured; Notify is the default
	// channel of people who name none (NotifyOf).
	Email  bool
	Notify Notify
	// Connectors are the configured connectors by name (provisioning: automatic).
	Connectors map[string]*ConnectorSpec
}

// Person is someone the config knows. People not in the config may still
// request access; they have no manager or groups.
type Person struct {
	Email   string
	Manager string
	Groups  []string
	Notify  Notify // "" : the catalog's default
	// Accounts are the person's accounts in governed systems, keyed by app
	// id or connector name (`accounts: {github: octocat}`).
	Accounts map[string]string
}

// Provisioning says whether someone must grant access by hand.
type Provisioning string

const (
	ProvisioningManual Provisioning = "manual"
	ProvisioningNone   Provisioning = "none" // access is recorded, nothing to do by hand
	// ProvisioningAutomatic: a connector grants and removes the access; it
	// hands the step to the provisioners when it fails for good.
	ProvisioningAutomatic Provisioning = "automatic"
)

// Settings are what an app sets and a resource may override. Empty fields of
// a resource inherit the app's.
type Settings struct {
	Owners           []Principal
	Provisioners     []Principal
	Deprovisioners   []Principal
	Channel          string
	Instructions     string
	Provisioning     Provisioning
	Connector        string // with ProvisioningAutomatic: the connector's name
	RequestPolicy    string
	RevocationPolicy string
	EmergencyPolicy  string
	DefaultDuration  time.Duration // Permanent or > 0; 0 = inherit
	MaxDuration      time.Duration // 0 = no maximum (or inherit, on a resource)
	// EmergencyMaxDuration caps emergency access; 0 = inherit, else
	// DefaultEmergencyMaxDuration. MaxDuration, when shorter, still caps.
	EmergencyMaxDuration time.Duration
}

// DefaultEmergencyMaxDuration caps emergency access where the configuration
// sets no emergency_max_duration.
const DefaultEmergencyMaxDuration = 24 * time.Hour

// EmergencyCap is the longest emergency access the entitlement allows.
func (e Entitlement) EmergencyCap() time.Duration {
	c := e.EmergencyMaxDuration
	if c <= 0 {
		c = DefaultEmergencyMaxDuration
	}
	if e.MaxDuration > 0 && e.MaxDuration < c {
		c = e.MaxDuration
	}
	return c
}

// App is something access is granted to.
type App struct {
	ID   string
	Name string
	Settings
	Resources []*Resource
}

// Resource is an entitlement inside an app.
type Resource struct {
	ID   string
	Name string
	Settings
}

// Reminders configures the reminder and escalation sweeps.
type Reminders struct {
	After         time.Duration
	Every         time.Duration
	EscalateAfter time.Duration
	BusinessHours BusinessHours
	ExpiryWarning time.Duration
}

// BusinessHours is a daily window in each person's own time zone.
type BusinessHours struct {
	Start, End time.Duration // since midnight; both zero = any time
}

// Entitlement is the effective settings of an app or one of its resources.
type Entitlement struct {
	App      *App
	Resource *Resource // nil for the app as a whole
	Settings
}

// Label is "App / Resource" for people to read.
func (e Entitlement) Label() string {
	if e.Resource == nil {
		return e.App.Name
	}
	return e.App.Name + " / " + e.Resource.Name
}

// ResourceID is the resource's id or "".
func (e Entitlement) ResourceID() string {
	if e.Resource == nil {
		return ""
	}
	return e.Resource.ID
}

// App returns the app with this id.
func (c *Catalog) App(id string) (*App, bool) {
	for _, a := range c.Apps {
		if strings.EqualFold(a.ID, id) {
			return a, true
		}
	}
	return nil, false
}

// Entitlement resolves an app id and optional resource id into effective
// settings, with errors that say what exists.
func (c *Catalog) Entitlement(appID, resourceID string) (Entitlement, error) {
	app, ok := c.App(appID)
	if !ok {
		return Entitlement{}, FieldError("app", "There is no app %q. Apps: %s.", appID, strings.Join(c.appIDs(), ", "))
	}
	ent := Entitlement{App: app, Settings: mergeSettings(app.Settings, Settings{})}
	if resourceID == "" {
		if len(app.Resources) > 0 {
			return Entitlement{}, FieldError("resource", "%s has resources; name one of: %s.", app.Name, strings.Join(resourceIDs(app), ", "))
		}
		return ent, nil
	}
	for _, r := range app.Resources {
		if strings.EqualFold(r.ID, resourceID) {
			ent.Resource = r
			ent.Settings = mergeSettings(app.Settings, r.Settings)
			// A resource has an emergency policy only when it sets one: the
			// app's would bypass a stricter request policy of the resource.
			ent.EmergencyPolicy = r.EmergencyPolicy
			return ent, nil
		}
	}
	if len(app.Resources) == 0 {
		return Entitlement{}, FieldError("resource", "%s has no resources; ask for the app itself.", app.Name)
	}
	return Entitlement{}, FieldError("resource", "%s has no resource %q. Resources: %s.", app.Name, resourceID, strings.Join(resourceIDs(app), ", "))
}

func mergeSettings(app, res Settings) Settings {
	out := app
	if res.Owners != nil {
		out.Owners = res.Owners
	}
	if res.Provisioners != nil {
		out.Provisioners = res.Provisioners
		if res.Deprovisioners == nil && app.Deprovisioners == nil {
			out.Deprovisioners = res.Provisioners
		}
	}
	if res.Deprovisioners != nil {
		out.Deprovisioners = res.Deprovisioners
	}
	if out.Deprovisioners == nil {
		out.Deprovisioners = out.Provisioners
	}
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&out.Channel, res.Channel)
	str(&out.Instructions, res.Instructions)
	str(&out.RequestPolicy, res.RequestPolicy)
	str(&out.RevocationPolicy, res.RevocationPolicy)

	if res.Provisioning != "" {
		out.Provisioning = res.Provisioning
	}
	str(&out.Connector, res.Connector)
	if res.DefaultDuration != 0 {
		out.DefaultDuration = res.DefaultDuration
	}
	if res.MaxDuration != 0 {
		out.MaxDuration = res.MaxDuration
	}
	if res.EmergencyMaxDuration != 0 {
		out.EmergencyMaxDuration = res.EmergencyMaxDuration
	}
	return out
}

func (c *Catalog) appIDs() []string {
	ids := make([]string, 0, len(c.Apps))
	for _, a := range c.Apps {
		ids = append(ids, a.ID)
	}
	return ids
}

func resourceIDs(a *App) []string {
	ids := make([]string, 0, len(a.Resources))
	for _, r := range a.Resources {
		ids = append(ids, r.ID)
	}
	return ids
}

// IsAdmin reports whether email is a super admin.
func (c *Catalog) IsAdmin(email string) bool {
	for _, a := range c.Admins {
		if strings.EqualFold(a, email) {
			return true
		}
	}
	return false
}

// Person returns what the config knows of email (an empty Person with the
// email when nothing).
func (c *Catalog) Person(email string) Person {
	if p, ok := c.People[strings.ToLower(email)]; ok {
		return p
	}
	return Person{Email: strings.ToLower(email)}
}

// Principal names people in config: "user:EMAIL" (or a bare email),
// "group:NAME", "manager", "app_owners", "resource_owners".
type Principal string

// Principal kinds.
const (
	PrincipalUser           = "user"
	PrincipalGroup          = "group"
	PrincipalManager        = "manager"
	PrincipalAppOwners      = "app_owners"
	PrincipalResourceOwners = "resource_owners"
)

// Parse splits p into its kind and argument, or reports why it is malformed.
func (p Principal) Parse() (kind, arg string, err error) {
	s := strings.TrimSpace(string(p))
	switch {
	case s == PrincipalManager || s == PrincipalAppOwners || s == PrincipalResourceOwners:
		return s, "", nil
	case strings.HasPrefix(s, "user:"):
		arg = strings.ToLower(strings.TrimSpace(s[len("user:"):]))
		if !looksLikeEmail(arg) {
			return "", "", fmt.Errorf("%q: user: takes an email address", s)
		}
		return PrincipalUser, arg, nil
	case strings.HasPrefix(s, "group:"):
		arg = strings.TrimSpace(s[len("group:"):])
		if arg == "" {
			return "", "", fmt.Errorf("%q: group: takes a group name", s)
		}
		return PrincipalGroup, arg, nil
	case looksLikeEmail(s):
		return PrincipalUser, strings.ToLower(s), nil
	}
	return "", "", fmt.Errorf("%q is not a person or group: use user:EMAIL, group:NAME, manager, app_owners or resource_owners", s)
}

func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t<>,:;") && strings.Count(s, "@") == 1
}

// resolveContext is what principals are resolved against.
type resolveContext struct {
	cat     *Catalog
	subject string // whose manager "manager" means
	ent     Entitlement
}

// resolve turns principals into a sorted, de-duplicated list of emails.
func (rc resolveContext) resolve(ps []Principal) []string {
	seen := map[string]bool{}
	var out []string
	add := func(e string) {
		e = strings.ToLower(e)
		if e != "" && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	var walk func(ps []Principal, depth int)
	walk = func(ps []Principal, depth int) {
		if depth > 3 {
			return
		}
		for _, p := range ps {
			kind, arg, err := p.Parse()
			if err != nil {
				continue
			}
			switch kind {
			case PrincipalUser:
				add(arg)
			case PrincipalGroup:
				for _, m := range rc.cat.Groups[arg] {
					add(m)
				}
			case PrincipalManager:
				add(rc.cat.Person(rc.subject).Manager)
			case PrincipalAppOwners:
				if rc.ent.App != nil {
					walk(rc.ent.App.Owners, depth+1)
				}
			case PrincipalResourceOwners:
				walk(rc.ent.Owners, depth+1)
			}
		}
	}
	walk(ps, 0)
	sort.Strings(out)
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
