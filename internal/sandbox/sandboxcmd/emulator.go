package sandboxcmd

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credrotate/credrotate/internal/cli"
	"github.com/credrotate/credrotate/internal/sandbox/emulator"
)

// emulatorSeed is one --client ID=SECRET.
type emulatorSeed struct {
	id, secret string
}

// parseClientFlags parses the --client values, ID=SECRET each.
func parseClientFlags(values []string) ([]emulatorSeed, error) {
	seen := map[string]bool{}
	out := make([]emulatorSeed, 0, len(values))
	for _, v := range values {
		id, secret, ok := strings.Cut(v, "=")
		if !ok || id == "" || secret == "" {
			// Never echo the value: it holds a secret.
			return nil, fmt.Errorf("--client wants ID=SECRET (a client id, '=', a non-empty secret); got a value of %d characters without that form", len(v))
		}
		if err := emulator.ValidClientID(id); err != nil {
			return nil, fmt.Errorf("--client ID=SECRET: %w", err)
		}
		if seen[id] {
			return nil, fmt.Errorf("--client %s is given twice", id)
		}
		seen[id] = true
		out = append(out, emulatorSeed{id: id, secret: secret})
	}
	return out, nil
}

func newEmulatorCmd(a *cli.App) *cobra.Command {
	var (
		listen  string
		clients []string
		latency time.Duration
	)
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the Equifax security API emulator (REST and SOAP)",
		Long: `Run the Equifax security API emulator in the foreground: the OAuth2 token
endpoint, the REST management API and the SOAP endpoint with its WSDL, on one
listener. Each --client ID=SECRET seeds a client whose ACTIVE secret is SECRET.
The test controls under /__emulator/ (clock, faults, latency, call counters,
state) answer loopback peers only. One line per call goes to stderr; secrets
never do. SIGINT or SIGTERM stops it.`,
		Example: `  credrotate-sandbox emulator --listen 127.0.0.1:8089 --client demo=s3cret`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seeds, err := parseClientFlags(clients)
			if err != nil {
				return cli.UsageError(err)
			}
			if latency < 0 {
				return cli.UsageErrorf("--latency must not be negative")
			}
			return runEmulator(cmd.Context(), a, listen, seeds, latency)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8089", "address to listen on")
	f.StringArrayVar(&clients, "client", nil, "seed a client: ID=SECRET (repeatable)")
	f.DurationVar(&latency, "latency", 0, "latency added to every call, such as 50ms")
	return cmd
}

func runEmulator(ctx context.Context, a *cli.App, listen string, seeds []emulatorSeed, latency time.Duration) error {
	logw := &callLog{w: a.Stderr(), prefix: "emulator: "}
	emu := emulator.New(emulator.Options{Ticking: true, Latency: latency, Logf: logw.printf})
	defer emu.Close()
	for _, s := range seeds {
		if _, err := emu.SeedClient(s.id, s.secret, time.Time{}); err != nil {
			return fmt.Errorf("seeding client %s: %w", s.id, err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	base := "http://" + displayAddr(ln.Addr())
	out := &strings.Builder{}
	fmt.Fprintf(out, "Equifax security API emulator on %s\n", base)
	fmt.Fprintf(out, "  REST base:     %s/business/security/v1\n", base)
	fmt.Fprintf(out, "  token URL:     %s%s\n", base, emulator.TokenPath)
	fmt.Fprintf(out, "  SOAP endpoint: %s%s\n", base, emulator.SOAPPath)
	fmt.Fprintf(out, "  WSDL:          %s%s?wsdl\n", base, emulator.SOAPPath)
	fmt.Fprintf(out, "  controls:      %s%s (loopback only)\n", base, emulator.ControlPrefix)
	fmt.Fprintf(out, "  management scope: %s\n", emulator.DefaultManagementScope)
	for _, c := range emu.Clients() {
		if s, ok := c.Active(); ok {
			fmt.Fprintf(out, "  client %s: secret %s, expires %s\n", c.ClientID, s.SecretID, s.ExpiresAt.Format(time.RFC3339))
		}
	}
	if _, err := io.WriteString(a.Stdout(), out.String()); err != nil {
		_ = ln.Close()
		return err
	}

	return serveUntilDone(ctx, ln, emu, "the emulator", 5*time.Second, func() {
		logw.printf("stopping")
		emu.Close() // release stalled requests so that Shutdown does not wait for them
	})
}

// displayAddr names a listener's address so a client can dial it: an
// unspecified host becomes the loopback address.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP
	if host == nil || host.IsUnspecified() {
		if host.To4() == nil && host != nil {
			host = net.IPv6loopback
		} else {
			host = net.IPv4(127, 0, 0, 1)
		}
	}
	return net.JoinHostPort(host.String(), fmt.Sprint(tcp.Port))
}
