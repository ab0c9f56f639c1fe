package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

func init() { commands = append(commands, newPlanCmd) }

// Exit codes of plan, as terraform plan -detailed-exitcode.
const (
	planExitNoChanges = 0
	planExitChanges   = 2
)

func newPlanCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Preview what a deploy would change (exit 0: nothing, 2: changes)",
		Long: "Package the service and preview the deploy through a CloudFormation change set that is\n" +
			"never executed: resources added, modified (REPLACEMENT flagged) and removed, IAM changes,\n" +
			"and functions whose code changed. Exit status 0 means no changes, 2 changes, 1 an error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlan(cmd, asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return cmd
}

func runPlan(cmd *cobra.Command, asJSON bool) error {
	return withProject(cmd, func(ctx context.Context, p *nimbus.Project) error {
		plan, err := nimbus.MakePlan(ctx, p, nimbus.PackageOptions{})
		if err != nil {
			return &exitError{code: 1, err: err, sources: p.Sources}
		}
		out := cmd.OutOrStdout()
		if asJSON {
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(plan); err != nil {
				return err
			}
		} else {
			renderPlan(out, plan)
		}
		if plan.HasChanges() {
			return &exitError{code: planExitChanges}
		}
		return nil
	})
}

func renderPlan(w io.Writer, plan *nimbus.Plan) {
	if !plan.HasChanges() {
		fmt.Fprintf(w, "No changes. Stack %s is up to date.\n", plan.Stack)
		return
	}
	if plan.NewStack {
		fmt.Fprintf(w, "Stack %s does not exist yet: every resource will be created.\n\n", plan.Stack)
	}
	if len(plan.Resources) > 0 {
		fmt.Fprintf(w, "%-8s %-50s %-40s %s\n", "ACTION", "RESOURCE", "TYPE", "NOTES")
		var add, mod, del int
		for _, r := range plan.Resources {
			var notes []string
			switch r.Replacement {
			case "True":
				notes = append(notes, "REPLACEMENT")
			case "Conditional":
				notes = append(notes, "REPLACEMENT (conditional)")
			}
			if r.IAM {
				notes = append(notes, "IAM")
			}
			sign := map[string]string{"Add": "+", "Modify": "~", "Remove": "-"}[r.Action]
			fmt.Fprintf(w, "%s %-6s %-50s %-40s %s\n", sign, r.Action, r.LogicalID, r.Type, strings.Join(notes, ", "))
			switch r.Action {
			case "Add":
				add++
			case "Modify":
				mod++
			case "Remove":
				del++
			}
		}
		fmt.Fprintf(w, "\n%d to add, %d to modify (%d replaced), %d to remove.\n", add, mod, plan.Replacements(), del)
	}
	if len(plan.Functions) > 0 {
		fmt.Fprintln(w, "\nFunction code changes:")
		for _, f := range plan.Functions {
			if f.DeployedSHA256 == "" {
				fmt.Fprintf(w, "  + %s (new)\n", f.Function)
			} else {
				fmt.Fprintf(w, "  ~ %s (%s -> %s)\n", f.Function, f.DeployedSHA256, f.LocalSHA256)
			}
		}
	}
}
