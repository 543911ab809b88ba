DROP TABLE dns_checks;
