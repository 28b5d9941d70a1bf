package blocks

import (
	"fmt"

	"accessbot/workflow"
)

// ActRetryConnector is the Retry button on the card of a step whose
// connector failed; its value is EncodeRef(task, revision).
const ActRetryConnector = "connector_retry"

// connectorOf returns the connector run of step i, or nil.
func connectorOf(t *workflow.Task, i int) *workflow.ConnectorRun {
	if i < 0 || i >= len(t.Steps) {
		return nil
	}
	return t.Steps[i].Connector
}

// ConnectorBusy reports whether the task's current step waits on its
// connector (nobody is asked to act on it).
func ConnectorBusy(t *workflow.Task) bool { return t.ConnectorBusy() }

// connectorDid is "Granted in GitHub by the github connector at …" for a
// connector run that succeeded.
func connectorDid(k workflow.Kind, cr *workflow.ConnectorRun) string {
	verb := "Granted in"
	if k == workflow.KindRevoke {
		verb = "Removed from"
	}
	s := fmt.Sprintf("%s %s by the %s connector%s", verb, escape(cr.System), escape(cr.Name), atDate(cr.At))
	if m := inline(cr.Message); m != "" {
		s += " (" + truncate(m, 300) + ")"
	}
	return s + "."
}

// connectorWorking says the connector is at it, with its attempts.
func connectorWorking(k workflow.Kind, cr *workflow.ConnectorRun) string {
	verb := "granting the access in"
	if k == workflow.KindRevoke {
		verb = "removing the access from"
	}
	s := fmt.Sprintf("the %s connector is %s %s", escape(cr.Name), verb, escape(cr.System))
	if cr.LastError != "" {
		s += fmt.Sprintf("; attempt %d failed (%s) and will be retried", cr.Attempts, truncate(inline(cr.LastError), 300))
	}
	return s
}

// connectorFailedNote is on the cards of the people a failed connector
// handed the step to.
func connectorFailedNote(k workflow.Kind, cr *workflow.ConnectorRun) string {
	what, hand := "grant the access in", "Provision it by hand"
	if k == workflow.KindRevoke {
		what, hand = "remove the access from", "Remove it by hand"
	}
	return fmt.Sprintf(":warning: The %s connector could not %s %s: %s\n%s, or press *Retry* to give the connector another go.",
		escape(cr.Name), what, escape(cr.System), truncate(inline(cr.LastError), 1500), hand)
}

// connectorFailed returns the failed connector run of the card's step, or nil.
func (c *card) connectorFailed() *workflow.ConnectorRun {
	cr := connectorOf(c.t, c.step)
	if cr == nil || cr.State != workflow.ConnectorFailed {
		return nil
	}
	return cr
}
