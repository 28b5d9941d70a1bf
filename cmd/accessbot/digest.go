package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"accessbot/workflow"
)

// Digest settings of serve.
const (
	envAuditKey     = "ACCESSBOT_AUDIT_KEY"
	envAuditKeyFile = "ACCESSBOT_AUDIT_KEY_FILE"
	envDigests      = "ACCESSBOT_AUDIT_DIGESTS"
	envDigestEvery  = "ACCESSBOT_AUDIT_DIGEST_EVERY"

	defaultDigestEvery = 5 * time.Minute
)

// digestFlags are serve's audit digest settings.
type digestFlags struct {
	sink, keyFile, every string
}

func (d *digestFlags) register(fs *flag.FlagSet, env Env) {
	fs.StringVar(&d.sink, "audit-digests", envOr(env, envDigests, "stdout"), "where digests go besides the database: stdout, a file path, or off")
	fs.StringVar(&d.keyFile, "audit-key-file", env.Getenv(envAuditKeyFile), "file with the Ed25519 private key that signs audit digests")
	fs.StringVar(&d.every, "audit-digest-every", envOr(env, envDigestEvery, defaultDigestEvery.String()), "how often to write an audit digest (1s to 24h)")
}

// digestSetup is what serve needs to write digests.
type digestSetup struct {
	key   ed25519.PrivateKey // nil: unsigned
	every time.Duration
	sink  func(string) error // nil: the database only
	close func() error
	desc  string // where digests go, for the start-up log
}

// setupDigests reads the key and opens the sink; an error names the setting.
func setupDigests(d digestFlags, env Env, log zerolog.Logger) (*digestSetup, error) {
	s := &digestSetup{close: func() error { return nil }}
	every, err := time.ParseDuration(d.every)
	if err != nil || every < time.Second || every > 24*time.Hour {
		return nil, usageError{fmt.Sprintf("--audit-digest-every / %s %q: give a duration from 1s to 24h, such as 5m or 1h", envDigestEvery, d.every)}
	}
	s.every = every
	if s.key, err = loadSigningKey(env, d.keyFile, log); err != nil {
		return nil, err
	}
	switch d.sink {
	case "stdout":
		s.sink = func(line string) error {
			_, err := io.WriteString(env.Stdout, line+"\n")
			return err
		}
		s.desc = "stdout"
	case "off", "":
		s.desc = "the database only"
	default:
		f, err := os.OpenFile(d.sink, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--audit-digests / %s: cannot open %q for appending (%v): give a writable file outside the database, stdout, or off", envDigests, d.sink, errors.Unwrap(err))
		}
		s.sink = func(line string) error {
			if _, err := f.WriteString(line + "\n"); err != nil {
				return err
			}
			return f.Sync()
		}
		s.close = f.Close
		s.desc = d.sink
	}
	ev := log.Info().Str("digests", s.desc).Dur("every", s.every)
	if s.key != nil {
		ev = ev.Str("key", workflow.KeyFingerprint(s.key.Public().(ed25519.PublicKey)))
	}
	ev.Msg("audit digests")
	if s.key == nil {
		log.Warn().Msg("audit digests are NOT signed: set " + envAuditKey + " or " + envAuditKeyFile + " (accessbot audit keygen). " +
			"Unsigned digests are still chained, but someone who can write the database can rewrite the digests stored there too; only a copy outside it (--audit-digests) catches that")
	}
	if s.sink == nil {
		log.Warn().Msg("audit digests are kept only in the database: set --audit-digests / " + envDigests + " to stdout or a file outside it, so deleting digests there is caught")
	}
	return s, nil
}

// loadSigningKey reads the private key from ACCESSBOT_AUDIT_KEY or the
// file named by --audit-key-file / ACCESSBOT_AUDIT_KEY_FILE (nil: none).
// Messages never hold the key.
func loadSigningKey(env Env, file string, log zerolog.Logger) (ed25519.PrivateKey, error) {
	text := env.Getenv(envAuditKey)
	switch {
	case text != "" && file != "":
		return nil, usageError{fmt.Sprintf("both %s and --audit-key-file / %s are set: give the signing key one way", envAuditKey, envAuditKeyFile)}
	case text != "":
		k, err := parsePrivateKey([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", envAuditKey, err)
		}
		return k, nil
	case file != "":
		fi, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("--audit-key-file / %s: cannot read %q (%v)", envAuditKeyFile, file, errors.Unwrap(err))
		}
		if fi.Mode().Perm()&0o077 != 0 {
			log.Warn().Str("file", file).Msg("the audit signing key file can be read by other users: chmod 600 it")
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--audit-key-file / %s: cannot read %q (%v)", envAuditKeyFile, file, errors.Unwrap(err))
		}
		k, err := parsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("--audit-key-file / %s %q: %v", envAuditKeyFile, file, err)
		}
		return k, nil
	}
	return nil, nil
}

const keyHint = "give an Ed25519 key in PEM, as `accessbot audit keygen` prints it"

// parsePrivateKey reads the first PRIVATE KEY block (PKCS #8, Ed25519).
func parsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PRIVATE KEY block: " + keyHint)
		}
		if blk.Type != "PRIVATE KEY" {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, errors.New("the PRIVATE KEY block does not parse: " + keyHint)
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the key is a %T, not Ed25519: %s", k, keyHint)
		}
		return ek, nil
	}
}

// parsePublicKeys reads every PUBLIC KEY block (PKIX, Ed25519); a private
// key is refused, so it is not passed around to auditors.
func parsePublicKeys(b []byte) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY":
			return nil, errors.New("it holds a PRIVATE KEY: give verify only the PUBLIC KEY block `accessbot audit keygen` printed, and keep the private key with serve")
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("a PUBLIC KEY block does not parse: %v", err)
			}
			ek, ok := k.(ed25519.PublicKey)
			if !ok {
				return nil, fmt.Errorf("a public key is a %T, not Ed25519", k)
			}
			out = append(out, ek)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no PUBLIC KEY block: " + keyHint)
	}
	return out, nil
}

// runAuditKeygen prints a new key pair: the private key (for serve) and
// the public key (for audit verify), both PEM.
func runAuditKeygen(args []string, env Env) error {
	if len(args) > 0 {
		return usageError{"usage: accessbot audit keygen   (prints a new key pair; takes no arguments)"}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("audit keygen: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("audit keygen: %w", err)
	}
	pb, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("audit keygen: %w", err)
	}
	var out strings.Builder
	pem.Encode(&out, &pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	pem.Encode(&out, &pem.Block{Type: "PUBLIC KEY", Bytes: pb})
	if _, err := io.WriteString(env.Stdout, out.String()); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "audit keygen: a new Ed25519 key pair, %s.\n"+
		"  PRIVATE KEY block: for serve only, in %s or a file named by --audit-key-file / %s (chmod 600);\n"+
		"    keep it off the database host's disk and backups (see README, \"Audit log\").\n"+
		"  PUBLIC KEY block: for `accessbot audit verify --public-key FILE`; it may be shared.\n",
		workflow.KeyFingerprint(pub), envAuditKey, envAuditKeyFile)
	return nil
}
