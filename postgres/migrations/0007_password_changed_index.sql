-- 0007_password_changed_index: the hourly password-reminder sweep reads, of
-- the users who follow the system's policy, only those whose password was set
-- inside the reminder window, by this index, instead of every user.
CREATE INDEX users_password_changed ON users (password_changed_at);
