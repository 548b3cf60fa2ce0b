<?php
// Applies the SQL files in migrations/ that the database has not seen, in name order, each in
// a transaction, recording them in schema_migrations; `--down-to NAME` reverts, newest first,
// every applied migration after NAME with its `-- down:` section (running it twice is harmless).
$path = getenv('GUESTBOOK_DATABASE') ?: __DIR__ . '/../guestbook.sqlite3';
$db = new PDO('sqlite:' . $path, null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->exec('PRAGMA busy_timeout = 20000');
$db->exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)');
$applied = $db->query('SELECT name FROM schema_migrations ORDER BY name')->fetchAll(PDO::FETCH_COLUMN);
$files = glob(__DIR__ . '/../migrations/*.sql');
sort($files);

function sections(string $file): array {
    $parts = explode("-- down:", file_get_contents($file), 2);
    return [trim($parts[0]), trim($parts[1] ?? '')];
}

$down = array_search('--down-to', $argv, true);
if ($down !== false) {
    $keep = $argv[$down + 1] ?? '';
    if (!in_array($keep, $applied, true)) {
        fwrite(STDERR, "--down-to needs an applied migration to keep, one of: " . implode(', ', $applied) . "\n");
        exit(1);
    }
    foreach (array_reverse($applied) as $name) {
        if (strcmp($name, $keep) <= 0) {
            break;
        }
        [, $undo] = sections(__DIR__ . "/../migrations/$name");
        if ($undo === '') {
            fwrite(STDERR, "migration $name has no `-- down:` section; restore a backup instead\n");
            exit(1);
        }
        $db->beginTransaction();
        $db->exec($undo);
        $db->prepare('DELETE FROM schema_migrations WHERE name = ?')->execute([$name]);
        $db->commit();
        echo "reverted $name\n";
    }
    exit(0);
}

foreach ($files as $file) {
    $name = basename($file);
    if (in_array($name, $applied, true)) {
        continue;
    }
    [$up] = sections($file);
    $db->beginTransaction();
    $db->exec($up);
    $db->prepare('INSERT INTO schema_migrations (name) VALUES (?)')->execute([$name]);
    $db->commit();
    echo "applied $name\n";
}
