package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"accessbot/workflow"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	// Path names the value in the file, like `apps[2].resources[0].request_policy`
	// or `groups.sre[1]`; "" for the file as a whole (a YAML syntax error).
	Path string
	// Message says what is wrong and, where it helps, how to fix it.
	Message string
	// Line is the file's line the problem is on (1-based); 0 when unknown.
	// For a value that is missing it is the line of the nearest enclosing value.
	Line int
}

// String renders the problem as `path: message (line N)`.
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// ValidationError lists every problem found in a config file, in file order.
type ValidationError struct {
	Problems []Problem
}

// Error joins the problems one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and validates the file at path. On any problem in the file it
// returns a *ValidationError listing every problem with its exact path; a file
// that cannot be read gives the read error (wrapped, so errors.Is works).
func Load(path string) (*workflow.Catalog, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return f.Catalog, nil
}

// Parse validates a config file's contents and builds the catalog. On any
// problem it returns a *ValidationError listing every problem.
func Parse(data []byte) (*workflow.Catalog, error) {
	f, err := ParseFile(data)
	if err != nil {
		return nil, err
	}
	return f.Catalog, nil
}

// File is everything a config file sets: the catalog the engine works
// from, and the settings of the edges that are not the engine's (Email).
type File struct {
	Catalog *workflow.Catalog
	Email   *Email // nil: no email channel
}

// LoadFile is Load returning the whole File.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(data, filepath.Dir(path))
}

// ParseFile is Parse returning the whole File.
func ParseFile(data []byte) (*File, error) { return parse(data, "") }

// parse is ParseFile for a file in dir: relative program paths of exec
// connectors are relative to it ("" is the working directory).
func parse(data []byte, dir string) (*File, error) {
	c := &checker{dir: dir}
	raw := c.decode(data)
	cat := c.build(raw)
	em := c.email(raw, cat)
	if len(c.problems) > 0 {
		sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
		return nil, &ValidationError{Problems: c.problems}
	}
	return &File{Catalog: cat, Email: em}, nil
}

// Summary describes a catalog in one line: "3 apps, 7 resources, 4 policies,
// 12 people, 2 groups, 2 admins".
func Summary(c *workflow.Catalog) string {
	resources := 0
	for _, a := range c.Apps {
		resources += len(a.Resources)
	}
	count := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	return strings.Join([]string{
		count(len(c.Apps), "app", "apps"),
		count(resources, "resource", "resources"),
		count(len(c.Policies), "policy", "policies"),
		count(len(c.People), "person", "people"),
		count(len(c.Groups), "group", "groups"),
		count(len(c.Admins), "admin", "admins"),
	}, ", ")
}

// checker collects problems while the file is decoded and validated.
type checker struct {
	dir      string // the file's directory
	idx      *nodeIndex
	problems []Problem
	// failed holds paths whose value the decoder could not read: problems
	// under them (a "missing" field of a mapping that failed) are noise.
	failed []string
}

func (c *checker) add(path, format string, args ...any) {
	for _, f := range c.failed {
		if under(path, f) {
			return
		}
	}
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...), Line: c.idx.line(path)})
}

// under reports whether path is p or inside it.
func under(path, p string) bool {
	return p == "" || path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[")
}

var yamlSyntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode reads data into the raw structs, turning every YAML and decoding
// error into a problem.
func (c *checker) decode(data []byte) *rawConfig {
	c.idx = &nodeIndex{lines: map[string]int{}}
	raw := &rawConfig{}

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // an empty file: validation says what is missing
			c.syntax(err)
		}
		return raw
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		c.problems = append(c.problems, Problem{Message: "the file holds more than one YAML document (a second ---): keep the whole config in one", Line: extra.Line})
	} else if !errors.Is(err, io.EOF) {
		c.syntax(err)
		return raw
	}
	c.idx.walk(&doc, "")
	c.shape(&doc, reflect.TypeFor[rawConfig](), "")

	// The strict decoder names the fields the raw types do not have. Its
	// other complaints (wrong kinds, repeated keys) shape has reported with
	// exact paths, and its result would have lost list items that failed, so
	// the raw structs come from the shaped document instead.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var te *yaml.TypeError
	if err := strict.Decode(&rawConfig{}); errors.As(err, &te) {
		for _, msg := range te.Errors {
			c.typeError(msg)
		}
	}
	if err := doc.Decode(raw); err != nil {
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				c.typeError(msg)
			}
		} else {
			c.problems = append(c.problems, Problem{Message: err.Error()})
		}
	}
	return raw
}

func (c *checker) syntax(err error) {
	p := Problem{Message: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlSyntaxLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Message = "not valid YAML: " + m[2]
	}
	c.problems = append(c.problems, p)
	c.failed = append(c.failed, "")
}

var (
	reUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	reLine         = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// typeError turns one of yaml.TypeError's messages into a problem: an
// unknown field, or (should shape have missed it) anything else on a line
// that has no problem yet.
func (c *checker) typeError(msg string) {
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		name := m[2]
		text := fmt.Sprintf("unknown field %q", name)
		if allowed := allowedFields[m[3]]; allowed != "" {
			text += " (allowed here: " + allowed + ")"
		}
		c.problems = append(c.problems, Problem{Path: c.idx.keyPath(line, name), Message: text, Line: line})
		return
	}
	p := Problem{Message: msg}
	if m := reLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Message = m[2]
		p.Path = c.idx.pathAt(p.Line)
	}
	for _, q := range c.problems {
		if p.Line != 0 && q.Line == p.Line {
			return
		}
	}
	c.problems = append(c.problems, p)
}

// allowedFields lists, by raw type name as the decoder writes it, the fields
// a mapping of that type may hold.
var allowedFields = map[string]string{
	"config.rawConfig":    "admins, people, groups, policies, apps, reminders, threads, emergency_channel, email, notify, connectors",
	"config.rawPerson":    "email, manager, groups, notify, accounts",
	"config.rawEmail":     emailFields,
	"config.rawPolicy":    "steps",
	"config.rawStep":      "type, approvers, mode, delegation, reassign, fallback",
	"config.rawApp":       "id, name, " + settingsFields + ", resources",
	"config.rawResource":  "id, name, " + settingsFields,
	"config.rawReminders": "after, every, escalate_after, business_hours, expiry_warning",
	"config.rawThreads":   "provisioned, deprovisioned, wont",
	"config.rawConnector": "type, timeout, command, env, url, secret_env, org, token_env, base_url, teams",
}

const settingsFields = "owners, provisioners, deprovisioners, channel, instructions, provisioning, connector, request_policy, revocation_policy, emergency_policy, default_duration, max_duration, emergency_max_duration"
