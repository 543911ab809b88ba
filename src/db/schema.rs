// One schema for both backends: the SQLite and PostgreSQL migrations create
// the same columns with the same diesel types, so every query is written once.

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login -> Nullable<Timestamp>,
        is_active -> Bool,
        failed_logins -> Integer,
        last_failed_login -> Nullable<Timestamp>,
        locked_until -> Nullable<Timestamp>,
        must_change_password -> Bool,
        version -> Integer,
        auth_source -> Text,
        ldap_server_id -> Nullable<Integer>,
    }
}

diesel::table! {
    domains (id) {
        id -> Integer,
        name -> Text,
        status -> Text,
        quota_limit -> BigInt,
        quota_used -> BigInt,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Nullable<Integer>,
        max_mailboxes -> Integer,
        max_aliases -> Integer,
        max_mailbox_quota -> BigInt,
        transport -> Nullable<Text>,
        version -> Integer,
        password_max_age_days -> Nullable<Integer>,
    }
}

diesel::table! {
    mailboxes (id) {
        id -> Integer,
        username -> Text,
        domain_id -> Integer,
        password_hash -> Text,
        quota_limit -> BigInt,
        quota_used -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login -> Nullable<Timestamp>,
        created_by -> Nullable<Integer>,
        local_part -> Text,
        name -> Nullable<Text>,
        version -> Integer,
        imap_enabled -> Bool,
        pop3_enabled -> Bool,
        smtp_enabled -> Bool,
        sieve_enabled -> Bool,
        password_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    aliases (id) {
        id -> Integer,
        address -> Text,
        goto -> Text,
        domain_id -> Integer,
        status -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Nullable<Integer>,
        version -> Integer,
    }
}

diesel::table! {
    alias_domains (id) {
        id -> Integer,
        name -> Text,
        target_domain_id -> Integer,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Nullable<Integer>,
        version -> Integer,
    }
}

diesel::table! {
    audit_logs (id) {
        id -> BigInt,
        user_id -> Nullable<Integer>,
        action -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<BigInt>,
        details -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        timestamp -> Timestamp,
        actor -> Nullable<Text>,
        result -> Text,
        prev_hash -> Text,
        row_hash -> Text,
    }
}

diesel::table! {
    mail_server_configs (id) {
        id -> Integer,
        service_name -> Text,
        config_file -> Text,
        config_data -> Text,
        backup_file -> Nullable<Text>,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Nullable<Integer>,
        version -> Integer,
    }
}

diesel::table! {
    ldap_configs (id) {
        id -> Integer,
        server_name -> Text,
        host -> Text,
        port -> Integer,
        use_ssl -> Bool,
        bind_dn -> Nullable<Text>,
        bind_password -> Nullable<Text>,
        base_dn -> Text,
        user_search_base -> Nullable<Text>,
        group_search_base -> Nullable<Text>,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Nullable<Integer>,
        version -> Integer,
        tls_mode -> Text,
        ca_file -> Nullable<Text>,
        user_attribute -> Text,
        user_filter -> Nullable<Text>,
        priority -> Integer,
    }
}

diesel::table! {
    user_domains (id) {
        id -> Integer,
        user_id -> Integer,
        domain_id -> Integer,
        permissions -> Nullable<Text>,
        created_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    audit_prune_guard (token) {
        token -> Integer,
    }
}

diesel::table! {
    audit_chain_key (id) {
        id -> Integer,
        keyed_from -> BigInt,
        key_id -> Text,
    }
}

diesel::table! {
    audit_chain_anchor (id) {
        id -> Integer,
        first_id -> BigInt,
        prev_hash -> Text,
        pruned_at -> Timestamp,
    }
}

diesel::table! {
    user_preferences (id) {
        id -> Integer,
        user_id -> Integer,
        theme -> Text,
        language -> Text,
        timezone -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Integer,
        user_id -> Integer,
        name -> Text,
        token_hash -> Text,
        role -> Text,
        domain_ids -> Nullable<Text>,
        allowed_from -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dkim_keys (id) {
        id -> Integer,
        domain -> Text,
        domain_id -> Nullable<Integer>,
        alias_domain_id -> Nullable<Integer>,
        selector -> Text,
        algorithm -> Text,
        bits -> Integer,
        private_key -> Nullable<Text>,
        public_key -> Text,
        state -> Text,
        replaces_id -> Nullable<Integer>,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_by -> Nullable<Integer>,
        version -> Integer,
    }
}

diesel::table! {
    app_passwords (id) {
        id -> Integer,
        mailbox_id -> Integer,
        name -> Text,
        selector -> Text,
        password_hash -> Text,
        allow_imap -> Bool,
        allow_pop3 -> Bool,
        allow_smtp -> Bool,
        allow_sieve -> Bool,
        created_at -> Timestamp,
        created_by -> Nullable<Integer>,
        last_used -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::table! {
    dns_checks (domain_id) {
        domain_id -> Integer,
        status -> Text,
        summary -> Text,
        findings -> Text,
        checked_at -> Timestamp,
        min_ttl -> Nullable<Integer>,
        fresh_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    send_limits (id) {
        id -> Integer,
        mailbox_id -> Nullable<Integer>,
        domain_id -> Nullable<Integer>,
        per_hour -> Nullable<Integer>,
        per_day -> Nullable<Integer>,
        rcpt_per_msg -> Nullable<Integer>,
        rcpt_per_day -> Nullable<Integer>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    send_counters (sender, span_secs, window_start) {
        sender -> Text,
        span_secs -> Integer,
        window_start -> BigInt,
        messages -> BigInt,
        recipients -> BigInt,
        refused -> BigInt,
    }
}

diesel::table! {
    sending_suspensions (id) {
        id -> Integer,
        mailbox_id -> Integer,
        reason -> Text,
        automatic -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    policyd_status (host) {
        host -> Text,
        started_at -> Timestamp,
        seen_at -> Timestamp,
        decisions -> BigInt,
        fail_open -> BigInt,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    deleted_mailboxes (id) {
        id -> Integer,
        username -> Text,
        domain -> Text,
        domain_id -> Nullable<Integer>,
        local_part -> Text,
        mailbox_id -> Integer,
        password_hash -> Text,
        quota_limit -> BigInt,
        quota_used -> BigInt,
        status -> Text,
        name -> Nullable<Text>,
        imap_enabled -> Bool,
        pop3_enabled -> Bool,
        smtp_enabled -> Bool,
        sieve_enabled -> Bool,
        password_expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        created_by -> Nullable<Integer>,
        aliases -> Text,
        deleted_at -> Timestamp,
        deleted_by -> Nullable<Integer>,
        purge_after -> Timestamp,
    }
}

diesel::table! {
    sender_grants (id) {
        id -> Integer,
        mailbox_id -> Nullable<Integer>,
        held_id -> Nullable<Integer>,
        address -> Text,
        domain_id -> Integer,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    user_totp (user_id) {
        user_id -> Integer,
        secret -> Text,
        enabled -> Bool,
        last_step -> BigInt,
        created_at -> Timestamp,
        enabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_totp_recovery (id) {
        id -> Integer,
        user_id -> Integer,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    vacations (id) {
        id -> Integer,
        mailbox_id -> Integer,
        enabled -> Bool,
        subject -> Text,
        body -> Text,
        from_date -> Nullable<Date>,
        until_date -> Nullable<Date>,
        days -> Integer,
        excludes -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<Integer>,
        version -> Integer,
    }
}

diesel::table! {
    mailbox_renames (id) {
        id -> Integer,
        mailbox_id -> Integer,
        old_username -> Text,
        new_username -> Text,
        old_domain_id -> Integer,
        old_local_part -> Text,
        old_home -> Text,
        new_home -> Text,
        old_status -> Text,
        keep_alias -> Bool,
        started_at -> Timestamp,
        started_by -> Nullable<Integer>,
    }
}

diesel::joinable!(mailboxes -> domains (domain_id));
diesel::joinable!(app_passwords -> mailboxes (mailbox_id));
diesel::joinable!(dns_checks -> domains (domain_id));
diesel::joinable!(aliases -> domains (domain_id));
diesel::joinable!(alias_domains -> domains (target_domain_id));
diesel::joinable!(user_domains -> domains (domain_id));
diesel::joinable!(user_domains -> users (user_id));
diesel::joinable!(audit_logs -> users (user_id));
diesel::joinable!(user_preferences -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(user_totp -> users (user_id));
diesel::joinable!(user_totp_recovery -> users (user_id));
diesel::joinable!(sending_suspensions -> mailboxes (mailbox_id));
diesel::joinable!(sender_grants -> mailboxes (mailbox_id));
diesel::joinable!(vacations -> mailboxes (mailbox_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    domains,
    mailboxes,
    aliases,
    alias_domains,
    audit_logs,
    mail_server_configs,
    ldap_configs,
    user_domains,
    audit_prune_guard,
    audit_chain_anchor,
    audit_chain_key,
    user_preferences,
    dkim_keys,
    api_tokens,
    app_passwords,
    dns_checks,
    send_limits,
    send_counters,
    sending_suspensions,
    policyd_status,
    deleted_mailboxes,
    user_totp,
    user_totp_recovery,
    sender_grants,
    vacations,
    mailbox_renames,
);
