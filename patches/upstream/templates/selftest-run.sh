	echo "Testing port reuse with a quiescent real server..."
	cleanup
	setup
	test_reuse_quiescent
	errors=$(( $errors + $? ))
