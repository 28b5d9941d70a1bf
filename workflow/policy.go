package workflow

import "fmt"

// StepType is what a step asks of its assignees.
type StepType string

const (
	StepReview      StepType = "review"      // approve/deny; confirm/deny in a revocation
	StepProvision   StepType = "provision"   // grant access by hand: provisioned / won't provision
	StepDeprovision StepType = "deprovision" // remove access by hand: deprovisioned / won't deprovision
)

// Mode says how many assignees must act for a review step to pass.
type Mode string

const (
	ModeAny Mode = "any" // one approval passes the step
	ModeAll Mode = "all" // every assignee must approve
)

// ReassignRule says to whom a step's assignee may hand the step.
type ReassignRule struct {
	None    bool        // reassignment is off
	Allowed []Principal // empty and !None: anyone
}

// Anyone reports whether the rule lets the step go to any person.
func (r ReassignRule) Anyone() bool { return !r.None && len(r.Allowed) == 0 }

// Step is one step of a policy.
type Step struct {
	Type      StepType     `json:"type"`
	Approvers []Principal  `json:"approvers,omitempty"`
	Mode      Mode         `json:"mode,omitempty"`
	Delegate  bool         `json:"delegation"`
	Reassign  ReassignRule `json:"reassign"`
	Fallback  []Principal  `json:"fallback,omitempty"`
	// Implicit is set on a provision or deprovision step the engine added
	// because the app is provisioned by hand and the policy had none.
	Implicit bool `json:"implicit,omitempty"`
	// Connector names the connector that does a provision or deprovision
	// step of an app provisioned automatically; its people are the
	// fallback when the connector fails for good.
	Connector string `json:"connector,omitempty"`
}

// Policy is a named, ordered list of steps. A task keeps a copy (snapshot)
// of the policy it was created with.
type Policy struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// CheckFor reports why p cannot serve tasks of kind k: a request policy holds
// review and provision steps, a revocation policy review and deprovision steps.
func (p *Policy) CheckFor(k Kind) error {
	if len(p.Steps) == 0 {
		return fmt.Errorf("policy %q has no steps", p.Name)
	}
	for i, s := range p.Steps {
		switch {
		case k == KindGrant && s.Type == StepDeprovision:
			return fmt.Errorf("steps[%d]: a deprovision step cannot be in a request policy", i)
		case k == KindRevoke && s.Type == StepProvision:
			return fmt.Errorf("steps[%d]: a provision step cannot be in a revocation policy", i)
		}
	}
	return nil
}

// snapshot copies p for a task, adding the manual provisioning step where the
// app needs one and the policy has none, and dropping manual steps where the
// app is provisioned by nobody.
func (p *Policy) snapshot(k Kind, ent Settings) Policy {
	prov := ent.Provisioning
	want := StepProvision
	if k == KindRevoke {
		want = StepDeprovision
	}
	out := Policy{Name: p.Name}
	has := false
	for _, s := range p.Steps {
		if s.Type == want {
			if prov == ProvisioningNone {
				continue
			}
			has = true
		}
		s.Approvers = append([]Principal(nil), s.Approvers...)
		s.Fallback = append([]Principal(nil), s.Fallback...)
		s.Reassign.Allowed = append([]Principal(nil), s.Reassign.Allowed...)
		out.Steps = append(out.Steps, s)
	}
	if !has && prov != ProvisioningNone {
		out.Steps = append(out.Steps, Step{Type: want, Delegate: true, Implicit: true})
	}
	return out.withConnector(ent)
}

// withConnector hands the provision and deprovision steps of p to the
// entitlement's connector when it is provisioned automatically.
func (p Policy) withConnector(ent Settings) Policy {
	if ent.Provisioning != ProvisioningAutomatic || ent.Connector == "" {
		return p
	}
	p.Steps = append([]Step(nil), p.Steps...)
	for i := range p.Steps {
		if p.Steps[i].Type != StepReview {
			p.Steps[i].Connector = ent.Connector
		}
	}
	return p
}
