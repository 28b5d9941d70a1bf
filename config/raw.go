package config

import "go.yaml.in/yaml/v3"

// The raw* types mirror the YAML file one to one. The decoder fills them with
// KnownFields(true), so a field they do not name is a problem; validate turns
// them into a workflow.Catalog.

type rawConfig struct {
	Admins    []string             `yaml:"admins"`
	People    []rawPerson          `yaml:"people"`
	Groups    map[string][]string  `yaml:"groups"`
	Policies  map[string]rawPolicy `yaml:"policies"`
	Apps      []rawApp             `yaml:"apps"`
	Reminders *rawReminders        `yaml:"reminders"`
	Threads   *rawThreads          `yaml:"threads"`
	// EmergencyChannel is told of every emergency request at once.
	EmergencyChannel string    `yaml:"emergency_channel"`
	Email            *rawEmail `yaml:"email"`
	Notify           string    `yaml:"notify"`
	// Connectors by name; see connectors.go.
	Connectors map[string]rawConnector `yaml:"connectors"`
}

type rawPerson struct {
	Email   string   `yaml:"email"`
	Manager string   `yaml:"manager"`
	Groups  []string `yaml:"groups"`
	Notify  string   `yaml:"notify"`
	// Accounts: the person's account in governed systems, by app id or
	// connector name (`github: octocat`).
	Accounts map[string]string `yaml:"accounts"`
}

type rawPolicy struct {
	Steps []rawStep `yaml:"steps"`
}

type rawStep struct {
	Type       string      `yaml:"type"`
	Approvers  []string    `yaml:"approvers"`
	Mode       string      `yaml:"mode"`
	Delegation string      `yaml:"delegation"`
	Reassign   rawReassign `yaml:"reassign"`
	Fallback   []string    `yaml:"fallback"`
}

// rawReassign is `anyone`, `none` or a list of user:/group: entries. It keeps
// what it found so that validation reports a wrong shape with its path.
type rawReassign struct {
	set  bool
	word string   // the scalar form
	list []string // the list form (non-nil when a list was given)
	bad  bool     // neither a scalar nor a list of scalars
}

func (r *rawReassign) UnmarshalYAML(n *yaml.Node) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	r.set = true
	switch n.Kind {
	case yaml.ScalarNode:
		r.word = n.Value
	case yaml.SequenceNode:
		r.list = []string{}
		for _, c := range n.Content {
			for c.Kind == yaml.AliasNode && c.Alias != nil {
				c = c.Alias
			}
			if c.Kind != yaml.ScalarNode {
				r.bad = true
				continue
			}
			r.list = append(r.list, c.Value)
		}
	default:
		r.bad = true
	}
	return nil
}

// rawSettings are what an app sets and a resource may override.
type rawSettings struct {
	Owners           []string `yaml:"owners"`
	Provisioners     []string `yaml:"provisioners"`
	Deprovisioners   []string `yaml:"deprovisioners"`
	Channel          string   `yaml:"channel"`
	Instructions     string   `yaml:"instructions"`
	Provisioning     string   `yaml:"provisioning"`
	Connector        string   `yaml:"connector"`
	RequestPolicy    string   `yaml:"request_policy"`
	RevocationPolicy string   `yaml:"revocation_policy"`
	EmergencyPolicy  string   `yaml:"emergency_policy"`
	DefaultDuration  string   `yaml:"default_duration"`
	MaxDuration      string   `yaml:"max_duration"`
	// EmergencyMaxDuration caps emergency access (default 24h).
	EmergencyMaxDuration string `yaml:"emergency_max_duration"`
}

type rawApp struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	rawSettings `yaml:",inline"`
	Resources   []rawResource `yaml:"resources"`
}

type rawResource struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	rawSettings `yaml:",inline"`
}

type rawReminders struct {
	After         string `yaml:"after"`
	Every         string `yaml:"every"`
	EscalateAfter string `yaml:"escalate_after"`
	BusinessHours string `yaml:"business_hours"`
	ExpiryWarning string `yaml:"expiry_warning"`
}

type rawThreads struct {
	Provisioned   []string `yaml:"provisioned"`
	Deprovisioned []string `yaml:"deprovisioned"`
	Wont          []string `yaml:"wont"`
}
