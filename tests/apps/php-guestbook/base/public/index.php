<?php
// The guestbook: POST /entries signs it, GET /entries reads it, GET /version says which
// release answers. Served by PHP's built-in server with this file as its router.
$version = trim(file_get_contents(__DIR__ . '/../VERSION'));
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$db = new PDO('sqlite:' . (getenv('GUESTBOOK_DATABASE') ?: __DIR__ . '/../guestbook.sqlite3'), null, null,
    [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->exec('PRAGMA busy_timeout = 20000');
require __DIR__ . '/entries.php';

header('Content-Type: application/json');
if ($path === '/version') {
    header('Content-Type: text/plain');
    echo $version;
} elseif ($path === '/entries' && $_SERVER['REQUEST_METHOD'] === 'POST') {
    http_response_code(201);
    echo json_encode(sign($db, $_POST['message'] ?? ''));
} elseif ($path === '/entries') {
    echo json_encode(['entries' => read($db)]);
} else {
    http_response_code(404);
    echo json_encode(['error' => "no page $path"]);
}
