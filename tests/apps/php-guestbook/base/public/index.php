<?php
// The guestbook: POST /entries signs it, GET /entries reads it, GET /version says which
// release answers. Served by PHP's built-in server with this file as its router.
$version = trim(file_get_contents(__DIR__ . '/../VERSION'));
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
require __DIR__ . '/../lib/database.php';
[$db] = open_database();
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
