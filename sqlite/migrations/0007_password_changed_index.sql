-- 0007_password_changed_index: the hourly password-reminder sweep reads only
-- the users whose password was set inside a reminder window, in the order of
-- these indexes, instead of every user: the users who follow the system's
-- policy by the first, those of a tenant with its own policy by the second.
CREATE INDEX users_password_changed ON users (password_changed_at, id);
CREATE INDEX users_tenant_password_changed ON users (tenant_id, password_changed_at, id);
