#!/bin/sh
# Prints docs/screens.md from the TUI's insta snapshots (run from the repo root).
set -eu
echo "# Screens"
echo
echo "Text captures of the TUI at 80x24 (login and lock also at 40x12), taken from the snapshot tests in"
echo "\`tests/snapshots/\` (drawn from a real database through the real worker;"
echo "times are masked). Regenerate with \`sh docs/screens.sh > docs/screens.md\`."
for f in login login_failed login_40x12 login_failed_40x12 lock_40x12 dashboard dashboard_with_tail domains domains_filtered \
    domain_form_new domain_form_local_error domain_form_ops_error domain_form_edit \
    domain_form_conflict domain_created domain_delete_confirm mailboxes_of_alpha \
    aliases alias_domains users permissions audit mail_servers ldap \
    long_addresses_mailboxes_80x24 long_addresses_domains_80x24 \
    domains_readonly domain_detail_readonly help_mailboxes command_line too_small \
    form_three_errors_80x24 alias_domain_target_not_found \
    mail_config_form_new_80x24 permission_form_new_80x24 ldap_form_new_80x24 \
    user_form_new_80x24 domain_form_conflict_theirs_80x24 \
    audit_named_80x24 audit_filtered_80x24 audit_named_200x50 audit_filtered_200x50 \
    senders_80x24 dashboard_sending_alert_80x24; do
    echo
    echo "## $f" | tr _ ' '
    echo
    echo '```text'
    sed '1,/^---$/d' "tests/snapshots/$f.snap"
    echo '```'
done
