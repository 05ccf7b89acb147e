package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"strata/restapi"
)

func (a *app) scheduleCommand() *cobra.Command {
	c := &cobra.Command{Use: "schedule", Aliases: []string{"sched"}, Short: "backup shipping schedule commands"}
	var s restapi.Schedule
	var inc, onFailure string
	var keepLocal, keepRemote, maxRetries int32
	create := verb("create NAME FULL_CRON", "create a schedule: when full (and incremental) backups ship, how many to keep, what a failure does", aliasCreate, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		s.ScheduleName, s.FullCron = args[0], args[1]
		f := cmd.Flags()
		if f.Changed("incremental-cron") {
			s.IncCron = &inc
		}
		if f.Changed("on-failure") {
			s.OnFailure = &onFailure
		}
		for name, set := range map[string]struct {
			from *int32
			to   **int32
		}{"keep-local": {&keepLocal, &s.KeepLocal}, "keep-remote": {&keepRemote, &s.KeepRemote}, "max-retries": {&maxRetries, &s.MaxRetries}} {
			if f.Changed(name) {
				*set.to = set.from
			}
		}
		return a.write(cmd.Context(), http.MethodPost, "/v1/schedules", s)
	})
	create.Flags().StringVar(&inc, "incremental-cron", "", "when incremental backups ship (cron)")
	create.Flags().Int32Var(&keepLocal, "keep-local", 0, "how many snapshots of full backups to keep locally (default all)")
	create.Flags().Int32Var(&keepRemote, "keep-remote", 0, "how many full backups to keep on an S3 remote (default all)")
	create.Flags().StringVar(&onFailure, "on-failure", "SKIP", "SKIP (wait for the next time) or RETRY (after a minute)")
	create.Flags().Int32Var(&maxRetries, "max-retries", 0, "how often RETRY tries again (default forever)")

	list := verb("list", "list schedules", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var l restapi.ScheduleList
		raw, err := a.get(cmd.Context(), "/v1/schedules", nil, &l)
		if err != nil {
			return err
		}
		count := func(n *int32, none string) string {
			if n == nil {
				return none
			}
			return strconv.Itoa(int(*n))
		}
		var rows [][]string
		for _, s := range l.Data {
			inc, of := "", ""
			if s.IncCron != nil {
				inc = *s.IncCron
			}
			if s.OnFailure != nil {
				of = *s.OnFailure
			}
			rows = append(rows, []string{s.ScheduleName, s.FullCron, inc, count(s.KeepLocal, ""), count(s.KeepRemote, ""), of, count(s.MaxRetries, "")})
		}
		return a.list(raw, []string{"Name", "Full", "Incremental", "KeepLocal", "KeepRemote", "OnFailure", "MaxRetries"}, rows)
	})

	var m restapi.ScheduleModify
	var full, keepLocalM, keepRemoteM, maxRetriesM string
	modify := verb("modify NAME", "change a schedule; what is not given stays (keep 'all', retries 'forever' reset them)", aliasModify, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		f := cmd.Flags()
		if f.Changed("full-cron") {
			m.FullCron = &full
		}
		if f.Changed("incremental-cron") {
			m.IncCron = &inc
		}
		if f.Changed("on-failure") {
			m.OnFailure = &onFailure
		}
		for name, set := range map[string]struct {
			from  *string
			to    **int32
			reset string
		}{"keep-local": {&keepLocalM, &m.KeepLocal, "all"}, "keep-remote": {&keepRemoteM, &m.KeepRemote, "all"}, "max-retries": {&maxRetriesM, &m.MaxRetries, "forever"}} {
			if !f.Changed(name) {
				continue
			}
			n := int32(-1)
			if *set.from != set.reset {
				v, err := strconv.ParseInt(*set.from, 10, 32)
				if err != nil || v < 0 {
					return fmt.Errorf("--%s takes a number of 0 or more, or %s", name, set.reset)
				}
				n = int32(v)
			}
			*set.to = &n
		}
		return a.write(cmd.Context(), http.MethodPut, "/v1/schedules/"+url.PathEscape(args[0]), m)
	})
	modify.Flags().StringVar(&full, "full-cron", "", "when full backups ship (cron)")
	modify.Flags().StringVar(&inc, "incremental-cron", "", "when incremental backups ship (cron; empty: none)")
	modify.Flags().StringVar(&keepLocalM, "keep-local", "", "snapshots of full backups to keep locally, or all")
	modify.Flags().StringVar(&keepRemoteM, "keep-remote", "", "full backups to keep on an S3 remote, or all")
	modify.Flags().StringVar(&onFailure, "on-failure", "", "SKIP or RETRY")
	modify.Flags().StringVar(&maxRetriesM, "max-retries", "", "how often RETRY tries again, or forever")

	del := verb("delete NAME", "delete a schedule (and where it is enabled)", aliasDelete, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, "/v1/schedules/"+url.PathEscape(args[0]), nil)
	})

	var by struct {
		rd, remote, schedule string
		activeOnly           bool
	}
	byResource := verb("list-by-resource", "list what each resource definition ships, when, and why not", []string{"lbr"}, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		v := url.Values{}
		for k, val := range map[string]string{"rsc": by.rd, "remote": by.remote, "schedule": by.schedule} {
			if val != "" {
				v.Set(k, val)
			}
		}
		if by.activeOnly {
			v.Set("active-only", "true")
		}
		var l restapi.ScheduledRscsList
		raw, err := a.get(cmd.Context(), "/v1/view/schedules-by-resource", v, &l)
		if err != nil {
			return err
		}
		at := func(ms int64, inc bool) string {
			if ms < 0 {
				return ""
			}
			return time.UnixMilli(ms).Format(time.DateTime) + map[bool]string{true: " (inc)", false: " (full)"}[inc]
		}
		var rows [][]string
		for _, r := range l.Data {
			if r.Reason != "" {
				rows = append(rows, []string{r.RscName, r.RemoteName, r.ScheduleName, r.Reason, "", "", "", ""})
				continue
			}
			next := at(r.NextExecTime, r.NextExecInc)
			if r.NextExecTime < 0 {
				next = "running"
			}
			rows = append(rows, []string{r.RscName, r.RemoteName, r.ScheduleName, "", at(r.LastSnapTime, r.LastSnapInc), next, at(r.NextPlannedFull, false), at(r.NextPlannedInc, true)})
		}
		return a.list(raw, []string{"ResourceName", "Remote", "Schedule", "Reason", "Last backup", "Next backup", "Next planned full", "Next planned incremental"}, rows)
	})
	byResource.Flags().StringVar(&by.rd, "rd", "", "only this resource definition")
	byResource.Flags().StringVar(&by.remote, "remote", "", "only this remote")
	byResource.Flags().StringVar(&by.schedule, "schedule", "", "only this schedule")
	byResource.Flags().BoolVar(&by.activeOnly, "active-only", false, "only what ships")
	c.AddCommand(create, list, modify, del, byResource)
	return c
}

// backupScheduleCommand is `backup schedule enable|disable|delete`.
func (a *app) backupScheduleCommand() *cobra.Command {
	c := &cobra.Command{Use: "schedule", Aliases: []string{"sched"}, Short: "where backups ship on a schedule"}
	var rd, rg, node string
	level := func(cmd *cobra.Command) {
		cmd.Flags().StringVar(&rd, "rd", "", "for this resource definition")
		cmd.Flags().StringVar(&rg, "rg", "", "for this resource group")
		cmd.MarkFlagsMutuallyExclusive("rd", "rg")
	}
	path := func(args []string, verb string) string {
		return "/v1/remotes/" + pathEscape(args[0]) + "/backups/schedule/" + pathEscape(args[1]) + "/" + verb
	}
	enable := verb("enable REMOTE SCHEDULE", "ship backups to REMOTE on SCHEDULE (for all resource definitions without --rd or --rg)", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPut, path(args, "enable"), restapi.BackupSchedule{RscName: rd, GrpName: rg, NodeName: node})
	})
	enable.Flags().StringVar(&node, "node", "", "ship from this node when it can")
	level(enable)
	disable := verb("disable REMOTE SCHEDULE", "stop shipping backups to REMOTE on SCHEDULE at that level", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPut, path(args, "disable"), restapi.BackupSchedule{RscName: rd, GrpName: rg})
	})
	level(disable)
	del := verb("delete REMOTE SCHEDULE", "remove what a level says of REMOTE and SCHEDULE, so that the level above decides", aliasDelete, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		v := url.Values{}
		if rd != "" {
			v.Set("rsc_dfn_name", rd)
		}
		if rg != "" {
			v.Set("rsc_grp_name", rg)
		}
		p := path(args, "delete")
		if len(v) > 0 {
			p += "?" + v.Encode()
		}
		return a.write(cmd.Context(), http.MethodDelete, p, nil)
	})
	level(del)
	c.AddCommand(enable, disable, del)
	return c
}
