package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"accessbot/store"
	"accessbot/workflow"
)

const verifyUsage = "usage: accessbot audit verify [--db DSN] [--digests FILE]... [--public-key FILE]\n" +
	"  --digests FILE     digests kept outside the database (the --audit-digests file, or a log holding the\n" +
	"                     stdout lines); repeat for several files\n" +
	"  --public-key FILE  the PUBLIC KEY block(s) of `accessbot audit keygen`: check the digests' signatures\n"

// maxShown bounds the problems printed; the count says how many more.
const maxShown = 50

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// runAuditVerify checks the audit log read-only and exits 1 when it finds
// signs of tampering, naming each chain and event.
func runAuditVerify(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	var c common
	c.register(fs, env)
	var digestFiles fileList
	fs.Var(&digestFiles, "digests", "a file of digests kept outside the database (repeatable)")
	keyFile := fs.String("public-key", "", "file with the public key(s) that signed the digests")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("audit verify takes no arguments (got %q)\n%s", fs.Args(), verifyUsage)}
	}
	var opts workflow.VerifyOptions
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("--public-key: cannot read %q (%v)", *keyFile, errors.Unwrap(err))
		}
		if opts.Keys, err = parsePublicKeys(b); err != nil {
			return fmt.Errorf("--public-key %q: %v", *keyFile, err)
		}
	}
	var fileProblems []string
	for _, f := range digestFiles {
		ext, problems, err := readDigestFile(f)
		if err != nil {
			return err
		}
		opts.External = append(opts.External, ext...)
		fileProblems = append(fileProblems, problems...)
	}
	db, err := store.OpenReadOnly(ctx, c.dsn)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	var rep *workflow.AuditReport
	err = db.ViewAudit(ctx, func(tx workflow.AuditReadTx) (err error) {
		rep, err = workflow.VerifyAudit(tx, opts)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	rep.Problems = append(fileProblems, rep.Problems...)
	if len(rep.Problems) > 0 {
		for i, p := range rep.Problems {
			if i == maxShown {
				fmt.Fprintf(env.Stderr, "audit chain broken: … and %d more problems\n", len(rep.Problems)-maxShown)
				break
			}
			fmt.Fprintf(env.Stderr, "audit chain broken: %s\n", p)
		}
		fmt.Fprintf(env.Stderr, "audit verify: %d problems in %d events of %d chains and %d digests\n", len(rep.Problems), rep.Events, rep.Chains, rep.Digests)
		return errReported
	}
	fmt.Fprintf(env.Stdout, "audit OK: %d events in %d chains verified\n", rep.Events, rep.Chains)
	printDigestSummary(env, rep, opts, len(digestFiles))
	return nil
}

// printDigestSummary says what the digests covered, and, as warnings,
// what this run could not rule out.
func printDigestSummary(env Env, rep *workflow.AuditReport, opts workflow.VerifyOptions, files int) {
	if rep.Digests == 0 {
		if rep.Events > 0 {
			fmt.Fprintln(env.Stderr, "audit verify: warning: there are no audit digests, so only the chains were checked: "+
				"deleting a chain's newest events or re-hashing an edited chain cannot be detected (serve writes digests; see README, \"Audit log\")")
		}
		return
	}
	n := rep.Newest
	fmt.Fprintf(env.Stdout, "digests OK: %d (%d in the database, %d from --digests), newest #%d at %s covering up to event id %d\n",
		rep.Digests, rep.InDatabase, rep.Outside, n.Seq, n.At.UTC().Format(time.RFC3339), n.ThroughEvent)
	if len(opts.Keys) > 0 {
		fmt.Fprintf(env.Stdout, "signatures OK: %d signed digests verified with %s", rep.Signed, keyNames(opts.Keys))
		if rep.Unsigned > 0 {
			fmt.Fprintf(env.Stdout, " (%d older unsigned digests are covered by the signed ones' chain)", rep.Unsigned)
		}
		fmt.Fprintln(env.Stdout)
	} else {
		fmt.Fprintln(env.Stderr, "audit verify: warning: signatures were not checked (give --public-key FILE): a re-hashed chain with rewritten digests in the database would pass")
	}
	if files == 0 {
		fmt.Fprintln(env.Stderr, "audit verify: warning: only the database's digests were checked (give --digests FILE, the copy outside it): deleting the newest digests together with the newest events would pass")
	}
	if rep.Uncovered > 0 {
		fmt.Fprintf(env.Stdout, "%d events are newer than the newest digest: only their chain protects them until the next digest\n", rep.Uncovered)
	}
}

func keyNames(keys []ed25519.PublicKey) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = workflow.KeyFingerprint(k)
	}
	return strings.Join(names, ", ")
}

// readDigestFile reads the digest lines of a file: the sink's file, or a
// log in which each digest line may follow a prefix (a timestamp); other
// lines are skipped. A line with the digest marker that does not parse is
// a problem (the file was altered), not an error.
func readDigestFile(path string) ([]workflow.ExternalDigest, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--digests: cannot read %q (%v)", path, errors.Unwrap(err))
	}
	defer f.Close()
	var out []workflow.ExternalDigest
	var problems []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		i := strings.Index(line, workflow.DigestMarker)
		if i < 0 {
			continue
		}
		where := fmt.Sprintf("%s line %d", path, n)
		d, err := workflow.ParseDigest(line[i:])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		out = append(out, workflow.ExternalDigest{Where: where, Digest: d})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("--digests %q: %w", path, err)
	}
	if len(out) == 0 && len(problems) == 0 {
		return nil, nil, fmt.Errorf("--digests %q: no digest in it (digest lines hold %s): is it the --audit-digests file?", path, workflow.DigestMarker)
	}
	return out, problems, nil
}
