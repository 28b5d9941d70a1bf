package config

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"accessbot/workflow"
)

// Connector types.
const (
	ConnectorExec    = "exec"
	ConnectorWebhook = "webhook"
	ConnectorGitHub  = "github"
)

// DefaultConnectorTimeout bounds one connector call when the file says nothing.
const DefaultConnectorTimeout = 30 * time.Second

// maxConnectorTimeout keeps a call well inside the runner's lease.
const maxConnectorTimeout = 10 * time.Minute

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// rawConnector is one entry of `connectors:`; which fields apply depends on
// its type.
type rawConnector struct {
	Type    string `yaml:"type"`
	Timeout string `yaml:"timeout"`
	// exec
	Command []string `yaml:"command"`
	Env     []string `yaml:"env"`
	// webhook
	URL       string `yaml:"url"`
	SecretEnv string `yaml:"secret_env"`
	// github
	Org      string            `yaml:"org"`
	TokenEnv string            `yaml:"token_env"`
	BaseURL  string            `yaml:"base_url"`
	Teams    map[string]string `yaml:"teams"`
}

// ExecOptions are an exec connector's settings (workflow.ConnectorSpec.Options).
type ExecOptions struct {
	Command []string // argv; no shell
	Env     []string // names of environment variables passed through
	Timeout time.Duration
}

// WebhookOptions are a webhook connector's settings.
type WebhookOptions struct {
	URL       string
	SecretEnv string // the environment variable holding the signing secret
	Timeout   time.Duration
}

// GitHubOptions are a github connector's settings.
type GitHubOptions struct {
	Org      string
	TokenEnv string // the environment variable holding the token
	BaseURL  string // GitHub Enterprise's API URL; "" for github.com
	Teams    map[string]string
	Timeout  time.Duration
}

func (b *builder) connectors(raw map[string]rawConnector) {
	b.cat.Connectors = map[string]*workflow.ConnectorSpec{}
	for _, name := range sortedKeys(raw) {
		path := "connectors." + name
		if !b.name(path, name, "connector") {
			continue
		}
		rc := raw[name]
		spec := &workflow.ConnectorSpec{Name: name, Type: rc.Type}
		timeout := DefaultConnectorTimeout
		if rc.Timeout != "" {
			d, err := time.ParseDuration(rc.Timeout)
			switch {
			case err != nil || d <= 0:
				b.add(path+".timeout", "%q is not a timeout: write it like 30s or 2m", rc.Timeout)
			case d > maxConnectorTimeout:
				b.add(path+".timeout", "%s is too long: a connector call may take at most %s", rc.Timeout, maxConnectorTimeout)
			default:
				timeout = d
			}
		}
		foreign := func(field string, set bool, of string) {
			if set {
				b.add(path+"."+field, "%s is a setting of %s connectors, not of %s ones: remove it", field, of, rc.Type)
			}
		}
		switch rc.Type {
		case "":
			b.add(path+".type", "missing: set the connector's type: exec, webhook or github")
			continue
		case ConnectorExec:
			spec.Options = b.execOptions(path, rc, timeout)
			foreign("url", rc.URL != "", "webhook")
			foreign("secret_env", rc.SecretEnv != "", "webhook")
			foreign("org", rc.Org != "", "github")
			foreign("token_env", rc.TokenEnv != "", "github")
			foreign("base_url", rc.BaseURL != "", "github")
			foreign("teams", rc.Teams != nil, "github")
		case ConnectorWebhook:
			spec.Options = b.webhookOptions(path, rc, timeout)
			foreign("command", rc.Command != nil, "exec")
			foreign("env", rc.Env != nil, "exec")
			foreign("org", rc.Org != "", "github")
			foreign("token_env", rc.TokenEnv != "", "github")
			foreign("base_url", rc.BaseURL != "", "github")
			foreign("teams", rc.Teams != nil, "github")
		case ConnectorGitHub:
			spec.Options = b.githubOptions(path, rc, timeout)
			foreign("command", rc.Command != nil, "exec")
			foreign("env", rc.Env != nil, "exec")
			foreign("url", rc.URL != "", "webhook")
			foreign("secret_env", rc.SecretEnv != "", "webhook")
		default:
			b.add(path+".type", "unknown connector type %q: use exec, webhook or github", rc.Type)
			continue
		}
		b.cat.Connectors[name] = spec
	}
}

func (b *builder) envRef(path, v, what string) string {
	switch {
	case v == "":
		b.add(path, "missing: name the environment variable that holds the %s (the secret itself never goes in the file)", what)
	case !envName.MatchString(v):
		b.add(path, "%q is not an environment variable name: use letters, digits and _ (like GITHUB_TOKEN); the secret itself never goes in the file", v)
	}
	return v
}

func (b *builder) execOptions(path string, rc rawConnector, timeout time.Duration) ExecOptions {
	o := ExecOptions{Command: rc.Command, Timeout: timeout}
	if len(rc.Command) == 0 {
		b.add(path+".command", "missing: give the program and its arguments as a list, like [./grant.sh, --verbose] (it runs without a shell)")
	} else if prog := rc.Command[0]; strings.TrimSpace(prog) == "" {
		b.add(path+".command[0]", "missing: name the program to run")
	} else if strings.ContainsRune(prog, '/') {
		if !filepath.IsAbs(prog) && b.dir != "" {
			prog = filepath.Join(b.dir, prog)
			o.Command = append([]string{prog}, rc.Command[1:]...)
		}
		if st, err := os.Stat(prog); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			b.add(path+".command[0]", "%q is not an executable file (a relative path is relative to the configuration file's directory)", rc.Command[0])
		}
	} else if _, err := exec.LookPath(prog); err != nil {
		b.add(path+".command[0]", "%q is not a program on PATH: give its path", prog)
	}
	for i, e := range rc.Env {
		if !envName.MatchString(e) {
			b.add(fmt.Sprintf("%s.env[%d]", path, i), "%q is not an environment variable name: list the names of the variables passed through (like HOME or GRANTS_FILE)", e)
			continue
		}
		o.Env = append(o.Env, e)
	}
	return o
}

func (b *builder) webhookOptions(path string, rc rawConnector, timeout time.Duration) WebhookOptions {
	o := WebhookOptions{URL: rc.URL, Timeout: timeout}
	if rc.URL == "" {
		b.add(path+".url", "missing: give the https:// URL the webhook posts to")
	} else if u, err := url.Parse(rc.URL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		b.add(path+".url", "%q is not an https:// URL (plain http is allowed only to 127.0.0.1 or localhost)", rc.URL)
	}
	o.SecretEnv = b.envRef(path+".secret_env", rc.SecretEnv, "signing secret")
	return o
}

func (b *builder) githubOptions(path string, rc rawConnector, timeout time.Duration) GitHubOptions {
	o := GitHubOptions{Org: strings.TrimSpace(rc.Org), BaseURL: rc.BaseURL, Teams: map[string]string{}, Timeout: timeout}
	if o.Org == "" {
		b.add(path+".org", "missing: name the GitHub organization whose teams this connector manages")
	}
	o.TokenEnv = b.envRef(path+".token_env", rc.TokenEnv, "GitHub token")
	if rc.BaseURL != "" {
		if u, err := url.Parse(rc.BaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
			b.add(path+".base_url", "%q is not an https:// URL: give your GitHub Enterprise API URL, like https://github.example.com/api/v3/", rc.BaseURL)
		}
	}
	for _, res := range sortedKeys(rc.Teams) {
		if strings.TrimSpace(rc.Teams[res]) == "" {
			b.add(path+".teams."+res, "missing: give the slug of the team that resource %q maps to", res)
			continue
		}
		o.Teams[res] = strings.TrimSpace(rc.Teams[res])
	}
	return o
}

func loopback(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

// connectorRef checks an app's or resource's connector.
func (b *builder) connectorRef(path, name string) string {
	if name == "" {
		return ""
	}
	if _, ok := b.cat.Connectors[name]; !ok {
		names := sortedKeys(b.cat.Connectors)
		if len(names) == 0 {
			b.add(path, "unknown connector %q: define it under connectors", name)
		} else {
			b.add(path, "unknown connector %q: define it under connectors, or use one of: %s", name, strings.Join(names, ", "))
		}
	}
	return name
}

// automatic checks that an automatically provisioned app or resource names
// its connector, and that a connector is not set where nothing uses it.
// own says the connector was set at path itself, not inherited.
func (b *builder) automatic(path string, eff workflow.Settings, own bool) {
	key := path + "\x00" + string(eff.Provisioning) + "\x00" + eff.Connector
	if b.autoSeen[key] {
		return
	}
	if b.autoSeen == nil {
		b.autoSeen = map[string]bool{}
	}
	b.autoSeen[key] = true
	switch {
	case eff.Provisioning == workflow.ProvisioningAutomatic && eff.Connector == "":
		b.add(path+".connector", "missing: provisioning: automatic needs a connector that grants and removes the access (one defined under connectors)")
	case eff.Provisioning != workflow.ProvisioningAutomatic && eff.Connector != "" && own:
		b.add(path+".connector", "connector %q is only used with provisioning: automatic: set provisioning: automatic, or remove connector", eff.Connector)
	}
}

// effectiveProvisioning is a resource's provisioning and connector over its app's.
func effectiveProvisioning(app, res workflow.Settings) workflow.Settings {
	eff := workflow.Settings{Provisioning: app.Provisioning, Connector: app.Connector}
	if res.Provisioning != "" {
		eff.Provisioning = res.Provisioning
	}
	if res.Connector != "" {
		eff.Connector = res.Connector
	}
	return eff
}

// accounts checks and records people[].accounts.
func (b *builder) accounts(people []rawPerson, emails []string) {
	for i, p := range people {
		if len(p.Accounts) == 0 || emails[i] == "" {
			continue
		}
		accts := map[string]string{}
		for _, k := range sortedKeys(p.Accounts) {
			path := fmt.Sprintf("people[%d].accounts.%s", i, k)
			v := strings.TrimSpace(p.Accounts[k])
			if v == "" {
				b.add(path, "missing: give the person's account name in %s", k)
				continue
			}
			accts[strings.ToLower(k)] = v
		}
		person := b.cat.People[emails[i]]
		person.Accounts = accts
		b.cat.People[emails[i]] = person
	}
}
