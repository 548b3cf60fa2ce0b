<?php
// The guestbook's database: the server `DATABASE_URL` names (MySQL/MariaDB or PostgreSQL), as
// hosting platforms pass it, else the SQLite file `GUESTBOOK_DATABASE` names. Returns the
// connection and the folder its kind's migrations are in.
function open_database(): array {
    $errors = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];
    $url = getenv('DATABASE_URL');
    if ($url) {
        $parts = parse_url($url);
        $kinds = ['mysql' => 'mysql', 'mariadb' => 'mysql', 'postgres' => 'pgsql', 'postgresql' => 'pgsql'];
        $driver = $kinds[$parts['scheme'] ?? ''] ?? null;
        if ($driver === null) {
            throw new RuntimeException('DATABASE_URL must start with mysql:// or postgres://');
        }
        $dsn = sprintf('%s:host=%s;port=%d;dbname=%s', $driver, $parts['host'], $parts['port'] ?? 0, ltrim($parts['path'] ?? '', '/'));
        $db = new PDO($dsn, urldecode($parts['user'] ?? ''), urldecode($parts['pass'] ?? ''), $errors);
        return [$db, "migrations-$driver"];
    }
    $db = new PDO('sqlite:' . (getenv('GUESTBOOK_DATABASE') ?: __DIR__ . '/../guestbook.sqlite3'), null, null, $errors);
    $db->exec('PRAGMA busy_timeout = 20000');
    return [$db, 'migrations'];
}
