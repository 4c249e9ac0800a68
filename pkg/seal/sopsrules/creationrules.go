package sopsrules

// This file reads .sops.yaml as sops v3.13.3's config package does
// (config.LoadCreationRuleForFile), without linking sops and its cloud KMS
// clients: the same YAML schema, the same rule selection, the same key
// parsing and the same error messages. TestMatchesSOPSConfig holds it to
// that package on many variants of the file.

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
)

// configFile is sops's configuration file. Every field sops decodes is
// here with sops's type, so that a file sops cannot decode is refused
// here too; only creation_rules is used.
type configFile struct {
	CreationRules    []creationRule    `yaml:"creation_rules"`
	DestinationRules []destinationRule `yaml:"destination_rules"`
	Stores           storesConfig      `yaml:"stores"`
}

type storesConfig struct {
	Dotenv     struct{}          `yaml:"dotenv"`
	INI        struct{}          `yaml:"ini"`
	JSONBinary indentStoreConfig `yaml:"json_binary"`
	JSON       indentStoreConfig `yaml:"json"`
	YAML       indentStoreConfig `yaml:"yaml"`
}

type indentStoreConfig struct {
	Indent int `yaml:"indent"`
}

type destinationRule struct {
	PathRegex        string       `yaml:"path_regex"`
	S3Bucket         string       `yaml:"s3_bucket"`
	S3Prefix         string       `yaml:"s3_prefix"`
	GCSBucket        string       `yaml:"gcs_bucket"`
	GCSPrefix        string       `yaml:"gcs_prefix"`
	VaultPath        string       `yaml:"vault_path"`
	VaultAddress     string       `yaml:"vault_address"`
	VaultKVMountName string       `yaml:"vault_kv_mount_name"`
	VaultKVVersion   int          `yaml:"vault_kv_version"`
	RecreationRule   creationRule `yaml:"recreation_rule,omitempty"`
	OmitExtensions   bool         `yaml:"omit_extensions"`
}

// creationRule is one of creation_rules. The key fields typed any take a
// comma-separated string or a list of strings. sops has no filename_regex
// (it was removed): a rule with one and no path_regex matches every file.
type creationRule struct {
	PathRegex               string     `yaml:"path_regex"`
	KMS                     any        `yaml:"kms"`
	AwsProfile              string     `yaml:"aws_profile"`
	Age                     any        `yaml:"age"`
	PGP                     any        `yaml:"pgp"`
	GCPKMS                  any        `yaml:"gcp_kms"`
	HCKms                   []string   `yaml:"hckms"`
	AzureKeyVault           any        `yaml:"azure_keyvault"`
	VaultURI                any        `yaml:"hc_vault_transit_uri"`
	KeyGroups               []keyGroup `yaml:"key_groups"`
	ShamirThreshold         int        `yaml:"shamir_threshold"`
	UnencryptedSuffix       string     `yaml:"unencrypted_suffix"`
	EncryptedSuffix         string     `yaml:"encrypted_suffix"`
	UnencryptedRegex        string     `yaml:"unencrypted_regex"`
	EncryptedRegex          string     `yaml:"encrypted_regex"`
	UnencryptedCommentRegex string     `yaml:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string     `yaml:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool       `yaml:"mac_only_encrypted"`
}

// keyGroup is one of a rule's key_groups.
type keyGroup struct {
	Merge   []keyGroup   `yaml:"merge"`
	KMS     []kmsKey     `yaml:"kms"`
	GCPKMS  []gcpKMSKey  `yaml:"gcp_kms"`
	HCKms   []hckmsKey   `yaml:"hckms"`
	AzureKV []azureKVKey `yaml:"azure_keyvault"`
	Vault   []string     `yaml:"hc_vault"`
	Age     []string     `yaml:"age"`
	PGP     []string     `yaml:"pgp"`
}

type kmsKey struct {
	Arn        string             `yaml:"arn"`
	Role       string             `yaml:"role,omitempty"`
	Context    map[string]*string `yaml:"context"`
	AwsProfile string             `yaml:"aws_profile"`
}

type gcpKMSKey struct {
	ResourceID string `yaml:"resource_id"`
}

type azureKVKey struct {
	VaultURL string `yaml:"vaultUrl"`
	Key      string `yaml:"key"`
	Version  string `yaml:"version"`
}

type hckmsKey struct {
	KeyID string `yaml:"key_id"`
}

// Key kinds, as sops's key types name themselves (TypeToIdentifier).
const (
	kindAge   = "age"
	kindPGP   = "pgp"
	kindKMS   = "kms"
	kindGCP   = "gcp_kms"
	kindHCKMS = "hckms"
	kindAzure = "azure_kv"
	kindVault = "hc_vault"
)

// masterKey is a key of a key group: its kind (see above) and the string
// sops shows it as (its ToString).
type masterKey struct {
	kind, id string
}

// ruleConfig is what sops's config.Config holds for a rule.
type ruleConfig struct {
	keyGroups                                      [][]masterKey
	shamirThreshold                                int
	unencryptedSuffix, encryptedSuffix             string
	unencryptedRegex, encryptedRegex               string
	unencryptedCommentRegex, encryptedCommentRegex string
	macOnlyEncrypted                               bool
}

// errNoMatch is sops's error for a path no creation rule matches.
var errNoMatch = errors.New("error loading config: no matching creation rules found")

// matchRule is the index of the rule sops applies to p (relative to the
// directory of .sops.yaml): the first with no path_regex or one that
// matches. sops stops with an error at the first path_regex it reaches
// that does not compile. It is -1 (with errNoMatch) when none matches.
func matchRule(rules []creationRule, p string) (int, error) {
	for i, r := range rules {
		if r.PathRegex == "" {
			return i, nil
		}
		re, err := regexp.Compile(r.PathRegex)
		if err != nil {
			return i, fmt.Errorf("can not compile regexp: %w", err)
		}
		if re.MatchString(p) {
			return i, nil
		}
	}
	return -1, errNoMatch
}

// configFromRule is sops's configFromRule: it refuses more than one way of
// choosing what to encrypt, then reads the key groups.
func configFromRule(r *creationRule) (*ruleConfig, error) {
	n := 0
	for _, s := range []string{r.UnencryptedSuffix, r.EncryptedSuffix, r.UnencryptedRegex, r.EncryptedRegex, r.UnencryptedCommentRegex, r.EncryptedCommentRegex} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("error loading config: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule")
	}
	groups, err := keyGroupsOf(r)
	if err != nil {
		return nil, err
	}
	return &ruleConfig{
		keyGroups:               groups,
		shamirThreshold:         r.ShamirThreshold,
		unencryptedSuffix:       r.UnencryptedSuffix,
		encryptedSuffix:         r.EncryptedSuffix,
		unencryptedRegex:        r.UnencryptedRegex,
		encryptedRegex:          r.EncryptedRegex,
		unencryptedCommentRegex: r.UnencryptedCommentRegex,
		encryptedCommentRegex:   r.EncryptedCommentRegex,
		macOnlyEncrypted:        r.MACOnlyEncrypted,
	}, nil
}

// keyGroupsOf is sops's getKeyGroupsFromCreationRule: key_groups, when the
// rule has any, each a group (and the rule's top-level keys are then
// ignored, without an error); otherwise the top-level keys, in one group.
func keyGroupsOf(r *creationRule) ([][]masterKey, error) {
	if len(r.KeyGroups) > 0 {
		var groups [][]masterKey
		for _, g := range r.KeyGroups {
			keys, err := keysOfGroup(g)
			if err != nil {
				return nil, err
			}
			groups = append(groups, keys)
		}
		return groups, nil
	}

	// Each field is read in sops's order, so that the first error is the
	// one sops reports. A field's list is joined with commas and split
	// again, as sops does.
	var group []masterKey
	// label is the name sops gives the field in its error, not always the
	// field's.
	field := func(v any, name, label string) (string, error) {
		keys, err := parseKeyField(v, name)
		if err != nil {
			return "", fmt.Errorf("invalid %s key configuration: %w", label, err)
		}
		return strings.Join(keys, ","), nil
	}
	s, err := field(r.Age, "age", "age")
	if err != nil {
		return nil, err
	}
	if s != "" {
		keys, err := ageKeys(s)
		if err != nil {
			return nil, err
		}
		group = append(group, keys...)
	}
	if s, err = field(r.PGP, "pgp", "pgp"); err != nil {
		return nil, err
	}
	for _, f := range splitList(s) {
		group = append(group, pgpKey(f))
	}
	if s, err = field(r.KMS, "kms", "kms"); err != nil {
		return nil, err
	}
	for _, a := range splitList(s) {
		group = append(group, kmsKeyFromArn(a, r.AwsProfile))
	}
	if s, err = field(r.GCPKMS, "gcp_kms", "gcpkms"); err != nil {
		return nil, err
	}
	for _, id := range splitList(s) {
		group = append(group, gcpKey(id))
	}
	for _, id := range splitList(strings.Join(r.HCKms, ",")) {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		k, err := hckmsKeyOf(id)
		if err != nil {
			return nil, err
		}
		group = append(group, k)
	}
	if s, err = field(r.AzureKeyVault, "azure_keyvault", "azure_keyvault"); err != nil {
		return nil, err
	}
	for _, u := range splitList(s) {
		k, err := azureKeyFromURL(u)
		if err != nil {
			return nil, err
		}
		group = append(group, k)
	}
	if s, err = field(r.VaultURI, "hc_vault_transit_uri", "vault"); err != nil {
		return nil, err
	}
	for _, u := range splitList(s) {
		if u == "" {
			continue
		}
		k, err := vaultKey(u)
		if err != nil {
			return nil, err
		}
		group = append(group, k)
	}
	// sops does not deduplicate the top-level group.
	return [][]masterKey{group}, nil
}

// keysOfGroup is sops's extractMasterKeys: the merged groups' keys first,
// then the group's own, without duplicates.
func keysOfGroup(g keyGroup) ([]masterKey, error) {
	var keys []masterKey
	for _, m := range g.Merge {
		sub, err := keysOfGroup(m)
		if err != nil {
			return nil, err
		}
		keys = append(keys, sub...)
	}
	for _, s := range g.Age {
		// Each entry is itself a comma-separated list.
		if s == "" {
			continue
		}
		ks, err := ageKeys(s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	for _, f := range g.PGP {
		keys = append(keys, pgpKey(f))
	}
	for _, k := range g.KMS {
		for name, v := range k.Context {
			if v == nil {
				// sops crashes on a null context value.
				return nil, fmt.Errorf("invalid kms key configuration: %s: context %q has no value", k.Arn, name)
			}
		}
		keys = append(keys, masterKey{kindKMS, kmsString(k.Arn, k.Role, k.Context, k.AwsProfile)})
	}
	for _, k := range g.GCPKMS {
		keys = append(keys, gcpKey(k.ResourceID))
	}
	for _, k := range g.HCKms {
		mk, err := hckmsKeyOf(k.KeyID)
		if err != nil {
			return nil, err
		}
		keys = append(keys, mk)
	}
	for _, k := range g.AzureKV {
		keys = append(keys, azureKey(k.VaultURL, k.Key, k.Version))
	}
	for _, u := range g.Vault {
		if u == "" {
			// sops crashes on an empty URI here.
			return nil, errors.New("invalid hc_vault key configuration: an empty URI")
		}
		k, err := vaultKey(u)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	var out []masterKey
	for _, k := range keys {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// parseKeyField is sops's: a comma-separated string (trimmed, without
// empty entries) or a list of strings (as they are).
func parseKeyField(field any, name string) ([]string, error) {
	switch v := field.(type) {
	case nil:
		return nil, nil
	case string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []any:
		out := make([]string, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("invalid %s key configuration: expected string in list, got %T", name, item)
			}
			out[i] = s
		}
		return out, nil
	default:
		return nil, fmt.Errorf("invalid %s key configuration: expected string, []string, or nil, got %T", name, field)
	}
}

// splitList splits a comma-separated list as sops's key constructors do:
// nothing for "", and every entry, empty ones too, otherwise.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ageKeys is sops's age.MasterKeysFromRecipients: each entry, trimmed,
// must be an age recipient sops can encrypt to.
func ageKeys(s string) ([]masterKey, error) {
	var keys []masterKey
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if err := parseAgeRecipient(r); err != nil {
			return nil, err
		}
		keys = append(keys, masterKey{kindAge, r})
	}
	return keys, nil
}

// parseAgeRecipient accepts what sops's age key source does: a hybrid
// post-quantum recipient (age1pq1...), a plugin recipient (age1name1...),
// an X25519 recipient (age1...) or an SSH public key (ssh-ed25519 ...,
// ssh-rsa ...).
func parseAgeRecipient(r string) error {
	switch {
	case strings.HasPrefix(r, "age1pq1"):
		if _, err := age.ParseHybridRecipient(r); err != nil {
			return fmt.Errorf("failed to parse input as Bech32-encoded age public key: %w", err)
		}
	case strings.HasPrefix(r, "age1") && strings.Count(r, "1") > 1:
		if _, _, err := plugin.ParseRecipient(r); err != nil {
			return fmt.Errorf("failed to parse input as age key from age plugin: %w", err)
		}
	case strings.HasPrefix(r, "age1"):
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("failed to parse input as Bech32-encoded age public key: %w", err)
		}
	case strings.HasPrefix(r, "ssh-"):
		if _, err := agessh.ParseRecipient(r); err != nil {
			return fmt.Errorf("failed to parse input as age-ssh public key: %w", err)
		}
	default:
		return fmt.Errorf("failed to parse input, unknown recipient type: %q", r)
	}
	return nil
}

// pgpKey is a PGP fingerprint, without its spaces.
func pgpKey(f string) masterKey {
	return masterKey{kindPGP, strings.ReplaceAll(f, " ", "")}
}

// kmsKeyFromArn is sops's kms.NewMasterKeyFromArn: an ARN, without
// spaces, optionally followed by +ROLE-ARN.
func kmsKeyFromArn(arn, profile string) masterKey {
	arn = strings.ReplaceAll(arn, " ", "")
	role := ""
	if i := strings.Index(arn, "+arn:"); i > 0 {
		arn, role = arn[:i], arn[i+1:]
	}
	return masterKey{kindKMS, kmsString(arn, role, nil, profile)}
}

// kmsString is sops's kms MasterKey.ToString.
func kmsString(arn, role string, context map[string]*string, profile string) string {
	s := arn
	if role != "" {
		s += "+" + role
	}
	var ctx []string
	for _, k := range slices.Sorted(maps.Keys(context)) {
		ctx = append(ctx, k+":"+*context[k])
	}
	c := strings.Join(ctx, ",")
	switch {
	case profile != "":
		return s + "|" + c + "|" + profile
	case c != "":
		return s + "|" + c
	}
	return s
}

// gcpKey is a GCP KMS resource ID, without spaces.
func gcpKey(id string) masterKey {
	return masterKey{kindGCP, strings.ReplaceAll(id, " ", "")}
}

// hckmsKeyOf is sops's hckms.NewMasterKey: region:key-uuid.
func hckmsKeyOf(id string) (masterKey, error) {
	t := strings.TrimSpace(id)
	region, uuid, ok := strings.Cut(t, ":")
	switch {
	case !ok:
		return masterKey{}, fmt.Errorf("invalid key ID format: expected 'region:key-uuid', got %q", t)
	case strings.TrimSpace(region) == "":
		return masterKey{}, fmt.Errorf("region cannot be empty in key ID: %q", t)
	case strings.TrimSpace(uuid) == "":
		return masterKey{}, fmt.Errorf("key UUID cannot be empty in key ID: %q", t)
	}
	return masterKey{kindHCKMS, id}, nil
}

var azureURL = regexp.MustCompile("^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$")

// azureKeyFromURL is sops's azkv.NewMasterKeyFromURL:
// https://VAULT/keys/NAME[/VERSION].
func azureKeyFromURL(u string) (masterKey, error) {
	u = strings.TrimSpace(u)
	parts := azureURL.FindStringSubmatch(u)
	if len(parts) < 3 {
		return masterKey{}, fmt.Errorf("could not parse %q into a valid Azure Key Vault MasterKey %v", u, parts)
	}
	version := ""
	if len(parts[3]) > 1 {
		version = parts[3][1:]
	}
	return azureKey(parts[1], parts[2], version), nil
}

// azureKey is an Azure Key Vault key as sops shows it. Without a version,
// sops asks Azure for the key's latest version when it reads the rule;
// this leaves it out (credrotate refuses the key either way).
func azureKey(vault, name, version string) masterKey {
	return masterKey{kindAzure, vault + "/keys/" + name + "/" + version}
}

var (
	vaultPrefixedPath = regexp.MustCompile(`/[^/]+/v[\d]+/[^/]+/[^/]+/[^/]+`)
	vaultPath         = regexp.MustCompile(`/v[\d]+/[^/]+/[^/]+/[^/]+`)
)

// vaultKey is sops's hcvault.NewMasterKeyFromURI:
// https://ADDRESS/v1/ENGINE/keys/NAME.
func vaultKey(uri string) (masterKey, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return masterKey{}, err
	}
	if u.Scheme == "" {
		return masterKey{}, fmt.Errorf("missing scheme in Vault URL (should be like this: +"+
			"https://vault.example.com:8200/v1/transit/keys/keyName), got: %v", uri)
	}
	full := u.RequestURI()
	switch {
	case vaultPrefixedPath.MatchString(full):
		return masterKey{}, errors.New("running Vault with a prefixed URL is not supported! (Format has to be like " +
			"https://vault.example.com:8200/v1/transit/keys/keyName)")
	case !vaultPath.MatchString(full):
		return masterKey{}, errors.New("vault path does not seem to be formatted correctly: (eg. " +
			"https://vault.example.com:8200/v1/transit/keys/keyName)")
	}
	dirs := strings.Split(strings.Trim(full, "/"), "/")
	name, engine := dirs[len(dirs)-1], path.Join(dirs[1:len(dirs)-2]...)
	u.Path = ""
	return masterKey{kindVault, u.String() + "/v1/" + engine + "/keys/" + name}, nil
}
