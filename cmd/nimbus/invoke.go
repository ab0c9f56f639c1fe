package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() { commands = append(commands, newInvokeCmd) }

// invokeFlags are the options `invoke` and `invoke local` share, as in v3.
type invokeFlags struct {
	function, data, path string
	raw                  bool
	context, contextPath string
}

// event reads the event from --data, --path or stdin (v3's order).
func (f *invokeFlags) event(cmd *cobra.Command, dir string) ([]byte, error) {
	switch {
	case f.data != "":
		return nimbus.EventFromData(f.data, f.raw), nil
	case f.path != "":
		return nimbus.EventFromFile(dir, f.path)
	}
	if in, ok := cmd.InOrStdin().(*os.File); ok {
		if st, err := in.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
			return nil, nil
		}
	}
	data, err := io.ReadAll(cmd.InOrStdin())
	if err != nil || len(strings.TrimSpace(string(data))) == 0 {
		return nil, err
	}
	return nimbus.EventFromData(string(data), f.raw), nil
}

// clientContext reads --context or --contextPath as JSON.
func (f *invokeFlags) clientContext(dir string) (string, error) {
	switch {
	case f.context != "":
		return string(nimbus.EventFromData(f.context, f.raw)), nil
	case f.contextPath != "":
		b, err := nimbus.EventFromFile(dir, f.contextPath)
		return string(b), err
	}
	return "", nil
}

func (f *invokeFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVarP(&f.function, "function", "f", "", "name of the function (its key under functions:)")
	pf.StringVarP(&f.data, "data", "d", "", "input data (JSON, else passed as a string)")
	pf.StringVarP(&f.path, "path", "p", "", "path of a JSON or YAML file holding the input data")
	pf.BoolVar(&f.raw, "raw", false, "pass --data as a raw string even when it is JSON")
	pf.StringVar(&f.context, "context", "", "client context (JSON) for the invocation")
	pf.StringVarP(&f.contextPath, "contextPath", "x", "", "path of a JSON or YAML file holding the client context")
}

// newInvokeCmd is `invoke`; running functions in AWS (`invoke -f`) and
// locally (`invoke local -f`) share its flags.
func newInvokeCmd() *cobra.Command {
	var flags invokeFlags
	var withLog bool
	cmd := &cobra.Command{
		Use:   "invoke",
		Short: "Invoke a function (use `invoke local` to run it on this machine)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRemoteInvoke(cmd, &flags, withLog)
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVarP(&withLog, "log", "l", false, "print the tail of the invocation's log")
	cmd.AddCommand(newInvokeLocalCmd(&flags))
	return cmd
}

func newInvokeLocalCmd(flags *invokeFlags) *cobra.Command {
	var env []string
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Invoke a function on this machine, as Lambda would",
		Long: "Run one function locally through the Lambda Runtime API, the same way `nimbus dev` does:\n" +
			"Node.js, Python, Go (built from source when needed) and custom runtimes.\n" +
			"The result is printed to stdout, the function's logs to stderr; a failed function exits 1.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flags.function == "" {
				return &exitError{code: 1, err: fmt.Errorf(`missing required option "--function" (-f)`)}
			}
			p, err := loadProject(cmd)
			if err != nil {
				return err
			}
			event, err := flags.event(cmd, p.Service.Dir)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			clientCtx, err := flags.clientContext(p.Service.Dir)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			overrides := map[string]string{}
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				overrides[k] = v
			}
			ctx, cancel := signalContext()
			defer cancel()
			res, err := p.InvokeLocal(ctx, nimbus.InvokeLocalOptions{
				Function:      flags.function,
				Event:         event,
				ClientContext: clientCtx,
				Env:           overrides,
				Log:           cmd.ErrOrStderr(),
			})
			if res != nil && len(res.Warnings) > 0 {
				diag.Render(cmd.ErrOrStderr(), res.Warnings, p.Sources)
			}
			if err != nil {
				return &exitError{code: 1, err: err, sources: p.Sources}
			}
			out := cmd.OutOrStdout()
			out.Write(nimbus.PrettyJSON(res.Payload))
			fmt.Fprintln(out)
			if res.Failed() {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&env, "env", "e", nil, "override an environment variable: --env KEY=VALUE (repeatable)")
	return cmd
}
