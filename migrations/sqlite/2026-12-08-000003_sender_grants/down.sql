DROP TABLE sender_grants;
