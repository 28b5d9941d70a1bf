package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"accessbot/workflow"
)

// ExitTempFail is sysexits.h's EX_TEMPFAIL: the program asks to be run again later.
const ExitTempFail = 75

// maxOutput bounds what is kept of a program's stdout and stderr.
const maxOutput = 64 << 10

// Exec runs a program for each grant and revoke.
type Exec struct {
	Name    string
	Command []string // argv; Command[0] is run without a shell
	// Env names the environment variables passed through; the program gets
	// nothing else.
	Env     []string
	Timeout time.Duration
	// Getenv reads the variables passed through (nil: the process's own).
	Getenv func(string) string
}

var _ workflow.Connector = (*Exec)(nil)

// Grant implements workflow.Connector.
func (e *Exec) Grant(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	return e.run(ctx, r)
}

// Revoke implements workflow.Connector.
func (e *Exec) Revoke(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	return e.run(ctx, r)
}

// limited keeps the first maxOutput bytes written to it.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxOutput - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (e *Exec) run(ctx context.Context, r workflow.ConnectorRequest) (workflow.ConnectorResult, error) {
	if len(e.Command) == 0 {
		return workflow.ConnectorResult{}, workflow.PermanentFailure("connector %s has no command", e.Name)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return workflow.ConnectorResult{}, workflow.PermanentFailure("encode the request: %v", err)
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Command[0], e.Command[1:]...)
	cmd.Env = []string{}
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, name := range e.Env {
		if v := getenv(name); v != "" {
			cmd.Env = append(cmd.Env, name+"="+v)
		}
	}
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr limited
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ownGroup(cmd) // the timeout kills the program and everything it started
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	msg := message(stdout.Bytes())
	if ctx.Err() != nil {
		return workflow.ConnectorResult{}, workflow.TransientFailure(0, "%s did not finish within %s and was killed", e.Command[0], timeout)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return workflow.ConnectorResult{Message: msg}, nil
	case errors.As(err, &exit) && exit.ExitCode() == ExitTempFail:
		return workflow.ConnectorResult{}, workflow.TransientFailure(0, "%s asked to be retried (exit %d)%s", e.Command[0], ExitTempFail, why(msg, stderr.Bytes()))
	case errors.As(err, &exit):
		return workflow.ConnectorResult{}, workflow.PermanentFailure("%s failed (%s)%s", e.Command[0], exit.ProcessState, why(msg, stderr.Bytes()))
	}
	// It did not start (missing, not executable): a configuration problem.
	return workflow.ConnectorResult{}, workflow.PermanentFailure("run %s: %v", e.Command[0], err)
}

// message reads {"message": "..."} from a program's stdout ("" otherwise).
func message(out []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(bytes.TrimSpace(out), &m) != nil {
		return ""
	}
	return strings.TrimSpace(m.Message)
}

// why is ": message" for an error, from stdout's message or the end of stderr.
func why(msg string, stderr []byte) string {
	if msg == "" {
		s := strings.TrimSpace(string(stderr))
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			s = strings.TrimSpace(s[i+1:])
		}
		msg = s
	}
	if msg == "" {
		return ""
	}
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300]) + "…"
	}
	return fmt.Sprintf(": %s", msg)
}
